#!/bin/sh
# Probes 198.51.100.17:8080 from wan1 (allowed) and wan2 (denied) from the first moment of boot,
# one-second timeouts, writing "SECONDS_SINCE_START HOST RESULT" lines to the log (the unit creates
# the lab network first), and when dockerd answered first. Each line "HOST ADDRESS PORT" of
# /etc/lab-boot-probe.targets, if there, is one more denied probe per round, logged as
# "SECONDS HOST>ADDRESS:PORT RESULT" (a container's own address: routed access). The probes of a
# round run at once. Stops once dockerd is active, the denied source was probed at least 10 times and
# the allowed one got through 3 times; at the latest after 45 seconds.
set -u
log=/var/log/lab-boot-probe.log
targets=/etc/lab-boot-probe.targets
: >"$log"
start=$(date +%s)
docker_seen=0

# probe LABEL HOST URL: one log line, reached or blocked
probe() {
    if ip netns exec "$2" timeout 1 busybox wget -q -O /dev/null "$3" 2>/dev/null; then result=reached; else result=blocked; fi
    echo "$(( $(date +%s) - start )) $1 $result" >>"$log"
}

while [ $(( $(date +%s) - start )) -lt 45 ]; do
    probe wan1 wan1 http://198.51.100.17:8080/ &
    probe wan2 wan2 http://198.51.100.17:8080/ &
    if [ -f "$targets" ]; then
        while read -r host address port; do
            case "$host" in '#'* | '') continue ;; esac
            case "$address" in *:*) url="http://[$address]:$port/" ;; *) url="http://$address:$port/" ;; esac
            probe "$host>$address:$port" "$host" "$url" &
        done <"$targets"
    fi
    wait
    if [ "$docker_seen" = 0 ] && systemctl is-active --quiet docker.service; then
        docker_seen=1
        echo "$(( $(date +%s) - start )) dockerd active" >>"$log"
    fi
    denied=$(grep -c ' wan2 ' "$log")
    reached=$(grep -c ' wan1 reached' "$log")
    [ "$docker_seen" = 1 ] && [ "$denied" -ge 10 ] && [ "$reached" -ge 3 ] && break
    sleep 0.3
done
echo done >>"$log"
