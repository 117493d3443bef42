#!/bin/sh
# Probes 198.51.100.17:8080 from wan1 (allowed) and wan2 (denied) from the first moment of boot,
# one-second timeouts, writing "SECONDS_SINCE_START HOST RESULT" lines to the log (the unit creates
# the lab network first), and when dockerd answered first. Stops once dockerd is active, the denied
# source was probed at least 10 times and the allowed one got through 3 times; at the latest after
# 45 seconds.
set -u
log=/var/log/lab-boot-probe.log
: >"$log"
start=$(date +%s)
docker_seen=0 denied=0 reached=0
while [ $(( $(date +%s) - start )) -lt 45 ]; do
    for host in wan1 wan2; do
        if ip netns exec "$host" timeout 1 busybox wget -q -O /dev/null http://198.51.100.17:8080/ 2>/dev/null; then
            result=reached
        else
            result=blocked
        fi
        echo "$(( $(date +%s) - start )) $host $result" >>"$log"
        [ "$host" = wan2 ] && denied=$((denied + 1))
        [ "$host" = wan1 ] && [ "$result" = reached ] && reached=$((reached + 1))
    done
    if [ "$docker_seen" = 0 ] && systemctl is-active --quiet docker.service; then
        docker_seen=1
        echo "$(( $(date +%s) - start )) dockerd active" >>"$log"
    fi
    [ "$docker_seen" = 1 ] && [ "$denied" -ge 10 ] && [ "$reached" -ge 3 ] && break
    sleep 0.3
done
echo done >>"$log"
