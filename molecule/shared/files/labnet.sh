#!/bin/sh
# Test network of a lab platform: namespaces that play the hosts around it.
#
#   lan   198.51.100.2/28   2001:db8:1::2/64   --int0-- platform 198.51.100.1   2001:db8:1::1
#   wan1  198.51.100.18/28  2001:db8:2::18/64  --ext0-- platform 198.51.100.17  2001:db8:2::1
#   wan2  198.51.100.19/28  2001:db8:2::19/64  --ext0   (ext0 is a bridge: the external side)
#   vpn1  198.51.100.34/28  2001:db8:4::34/64  --vpn0-- platform 198.51.100.33  2001:db8:4::1
#   vpn2  198.51.100.35/28  2001:db8:4::35/64  --vpn0   (vpn0 is a bridge: clients a VPN routes in)
#   pod   198.51.100.226/28 2001:db8:10::e2/64 --pod0-- platform 198.51.100.225 2001:db8:10::1
#                                              (a pod network a Kubernetes node routes to)
#
# Every namespace serves HTTP on port 8000 with its own name as the page. Only documentation
# ranges are used, and the platform itself has no network, so no probe can leave it.
#
#   labnet.sh up                    (re)create the namespaces and their servers
#   labnet.sh down                  remove them
#   labnet.sh probe NS ADDR PORT    fetch http://ADDR:PORT/ from NS; print the page, rc 0 if it answered
#   labnet.sh probes                many probes at once: stdin lines "ID NS ADDR PORT TIMEOUT", all sent
#                                   together; prints "ID RC PAGE" per probe, in input order
#   labnet.sh watch start LOG NS:ADDR:PORT...   in the background, every 0.2 s until stopped (at most
#                                   120 s), probe each target (1 s timeout); a line "NS ADDR PORT RESULT"
#                                   per probe in LOG (RESULT reached or blocked)
#   labnet.sh watch stop LOG        stop it, and wait until its last probe is written
set -eu

WWW=/run/labnet

server() {
    mkdir -p "$WWW/$1"
    echo "$1" >"$WWW/$1/index.html"
    ip netns exec "$1" busybox httpd -p 8000 -h "$WWW/$1"
}

down() {
    for ns in lan wan1 wan2 vpn1 vpn2 pod; do
        if ip netns list | grep -qw "$ns"; then
            for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
            ip netns del "$ns"
        fi
    done
    ip link del int0 2>/dev/null || true
    ip link del ext0 2>/dev/null || true
    ip link del vpn0 2>/dev/null || true
    ip link del pod0 2>/dev/null || true
    rm -rf "$WWW"
}

# host NS PLATFORM_IF ADDR4 GW4 ADDR6 GW6: a namespace with one veth whose peer is PLATFORM_IF
# (or a port of the bridge when PLATFORM_IF is ext0 or vpn0).
host() {
    ns=$1 peer=$2 addr4=$3 gw4=$4 addr6=$5 gw6=$6
    ip netns add "$ns"
    if [ "$peer" = ext0 ] || [ "$peer" = vpn0 ]; then
        ip link add "v-$ns" type veth peer name eth0 netns "$ns"
        ip link set "v-$ns" master "$peer" up
    else
        ip link add "$peer" type veth peer name eth0 netns "$ns"
    fi
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "$addr4" dev eth0
    ip -n "$ns" -6 addr add "$addr6" dev eth0 nodad
    ip -n "$ns" route add default via "$gw4"
    ip -n "$ns" -6 route add default via "$gw6"
    server "$ns"
}

up() {
    down
    ip link add ext0 type bridge
    ip link set ext0 up
    ip addr add 198.51.100.17/28 dev ext0
    ip -6 addr add 2001:db8:2::1/64 dev ext0 nodad
    host lan int0 198.51.100.2/28 198.51.100.1 2001:db8:1::2/64 2001:db8:1::1
    ip link set int0 up
    ip addr add 198.51.100.1/28 dev int0
    ip -6 addr add 2001:db8:1::1/64 dev int0 nodad
    host wan1 ext0 198.51.100.18/28 198.51.100.17 2001:db8:2::18/64 2001:db8:2::1
    host wan2 ext0 198.51.100.19/28 198.51.100.17 2001:db8:2::19/64 2001:db8:2::1
    ip link add vpn0 type bridge
    ip link set vpn0 up
    ip addr add 198.51.100.33/28 dev vpn0
    ip -6 addr add 2001:db8:4::1/64 dev vpn0 nodad
    host vpn1 vpn0 198.51.100.34/28 198.51.100.33 2001:db8:4::34/64 2001:db8:4::1
    host vpn2 vpn0 198.51.100.35/28 198.51.100.33 2001:db8:4::35/64 2001:db8:4::1
    host pod pod0 198.51.100.226/28 198.51.100.225 2001:db8:10::e2/64 2001:db8:10::1
    ip link set pod0 up
    ip addr add 198.51.100.225/28 dev pod0
    ip -6 addr add 2001:db8:10::1/64 dev pod0 nodad
    # IPv6 routing is ours to switch on (Docker only ever touches IPv4 forwarding).
    sysctl -qw net.ipv6.conf.all.forwarding=1
}

lab_address() {
    case "$1" in
        198.51.100.*|2001:db8:*|172.1[6-9].*|172.2[0-9].*|172.3[01].*) ;;
        *) echo "labnet: refusing to probe $1: not a lab address" >&2; exit 2 ;;
    esac
}

# fetch NS ADDR PORT SECONDS: the page, rc 0 when it answered, 124 when the time ran out.
fetch() {
    case "$2" in *:*) url="http://[$2]:$3/" ;; *) url="http://$2:$3/" ;; esac
    # busybox wget -T crashes (1.35): bound the probe with timeout instead.
    ip netns exec "$1" timeout "$4" busybox wget -q -O - "$url"
}

probe() {
    lab_address "$2"
    fetch "$1" "$2" "$3" 3
}

# A denied probe costs its whole timeout: sending every probe of a batch at once makes a batch
# cost its longest timeout instead of their sum. Every address is checked before any is sent.
probes() {
    dir=$(mktemp -d)
    n=0
    while read -r id ns addr port seconds; do
        [ -n "$id" ] || continue
        lab_address "$addr"
        n=$((n + 1))
        echo "$id $ns $addr $port $seconds" >"$dir/$n.in"
    done
    i=1
    while [ "$i" -le "$n" ]; do
        ( read -r id ns addr port seconds <"$dir/$i.in"
          if fetch "$ns" "$addr" "$port" "$seconds" >"$dir/$i.out" 2>/dev/null; then rc=0; else rc=$?; fi
          echo "$rc" >"$dir/$i.rc" ) &
        i=$((i + 1))
    done
    wait
    i=1
    while [ "$i" -le "$n" ]; do
        read -r id rest <"$dir/$i.in"
        echo "$id $(cat "$dir/$i.rc") $(tr '\n' ' ' <"$dir/$i.out" | sed 's/ *$//')"
        i=$((i + 1))
    done
    rm -rf "$dir"
}

watch() {
    action=$1 log=$2
    shift 2
    case $action in
        start)
            for target in "$@"; do lab_address "$(echo "$target" | cut -d: -f2- | sed 's/:[0-9]*$//')"; done
            : >"$log"
            rm -f "$log.stop"
            setsid sh -c '
                log=$1; shift
                end=$(( $(date +%s) + 120 ))
                while [ ! -e "$log.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
                    for target in "$@"; do
                        ns=${target%%:*} rest=${target#*:} port=${target##*:}
                        addr=${rest%:*}
                        case "$addr" in *:*) url="http://[$addr]:$port/" ;; *) url="http://$addr:$port/" ;; esac
                        if ip netns exec "$ns" timeout 1 busybox wget -q -O /dev/null "$url" 2>/dev/null; then
                            echo "$ns $addr $port reached" >>"$log"
                        else
                            echo "$ns $addr $port blocked" >>"$log"
                        fi
                    done
                    sleep 0.2
                done
                echo done >>"$log"' sh "$log" "$@" </dev/null >/dev/null 2>&1 &
            ;;
        stop)
            touch "$log.stop"
            for _ in $(seq 50); do [ "$(tail -n 1 "$log")" = done ] && break; sleep 0.1; done
            [ "$(tail -n 1 "$log")" = done ] || { echo "labnet: the watch did not stop" >&2; exit 1; }
            ;;
        *) echo "usage: labnet.sh watch start|stop LOG [NS:ADDR:PORT...]" >&2; exit 2 ;;
    esac
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    probe) shift; [ $# -eq 3 ] || { echo "usage: labnet.sh probe NS ADDR PORT" >&2; exit 2; }; probe "$@" ;;
    probes) probes ;;
    watch) shift; [ $# -ge 2 ] || { echo "usage: labnet.sh watch start|stop LOG [NS:ADDR:PORT...]" >&2; exit 2; }; watch "$@" ;;
    *) echo "usage: labnet.sh up|down|probe NS ADDR PORT|probes|watch" >&2; exit 2 ;;
esac
