#!/bin/sh
# Creates the lab network, then for 45 seconds probes 198.51.100.17:8080 from wan1 (allowed) and
# wan2 (denied), one-second timeouts, writing "SECONDS_SINCE_START HOST RESULT" lines to the log.
set -u
log=/var/log/lab-boot-probe.log
: >"$log"
/usr/local/sbin/labnet up >>"$log.setup" 2>&1 || { echo "setup failed" >>"$log"; exit 1; }
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt 45 ]; do
    for host in wan1 wan2; do
        if ip netns exec "$host" timeout 1 busybox wget -q -O /dev/null http://198.51.100.17:8080/ 2>/dev/null; then
            result=reached
        else
            result=blocked
        fi
        echo "$(( $(date +%s) - start )) $host $result" >>"$log"
    done
    sleep 0.3
done
echo done >>"$log"
