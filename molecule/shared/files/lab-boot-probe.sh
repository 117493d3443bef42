#!/bin/sh
# For 45 seconds probes 198.51.100.17:8080 from wan1 (allowed) and wan2 (denied), one-second
# timeouts, writing "SECONDS_SINCE_START HOST RESULT" lines to the log (the unit creates the lab
# network first), and when dockerd answered first.
set -u
log=/var/log/lab-boot-probe.log
: >"$log"
start=$(date +%s)
docker_seen=0
while [ $(( $(date +%s) - start )) -lt 45 ]; do
    for host in wan1 wan2; do
        if ip netns exec "$host" timeout 1 busybox wget -q -O /dev/null http://198.51.100.17:8080/ 2>/dev/null; then
            result=reached
        else
            result=blocked
        fi
        echo "$(( $(date +%s) - start )) $host $result" >>"$log"
    done
    if [ "$docker_seen" = 0 ] && systemctl is-active --quiet docker.service; then
        docker_seen=1
        echo "$(( $(date +%s) - start )) dockerd active" >>"$log"
    fi
    sleep 0.3
done
echo done >>"$log"
