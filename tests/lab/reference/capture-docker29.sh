#!/usr/bin/env bash
# Reference captures of Docker 29 in both firewall backends. The files in
# tests/unit/fixtures/docker-iptables/docker29/ (the unit tests' fixtures, and what the replay
# platforms load: molecule/replay29) were taken with this script from a running Docker 29.7.2.
# The lab has no Docker 29 image today (Debian ships no docker.io 29; tests/lab/images/build.sh
# says when it does): with a lab image that runs Docker 29, this script takes the captures again.
#
#   LAB_IMAGE=netops-dfw-lab:PLATFORM tests/lab/reference/capture-docker29.sh OUTDIR
#
# Two platform containers, both without a network: one booted with net.ipv4.ip_forward=0 (Docker
# switches it on and sets the FORWARD policy to DROP), one with 1 (needed to boot dockerd in the
# nftables backend, which never switches forwarding on). Each capture is NAME.iptables-save.txt,
# NAME.ip6tables-save.txt, NAME.nft-ruleset.txt and NAME.docker-info.txt (FirewallBackend).
set -euo pipefail
out=${1:?usage: capture-docker29.sh OUTDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
image=${LAB_IMAGE:?set LAB_IMAGE to a lab image that runs Docker 29}
caps=$(sed -n '/capabilities: &lab_capabilities/,/security_opts/p' "$here/../../../.config/molecule/config.yml" \
       | awk '/^ +- [A-Z_]+$/ { printf "--cap-add %s ", $2 }')

boot() {  # boot NAME IP_FORWARD
    docker rm -f "$1" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    docker run -d --name "$1" --network none --cgroupns host $caps \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --sysctl net.ipv4.ip_forward="$2" --sysctl net.ipv6.conf.all.disable_ipv6=0 \
        -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
        --stop-signal SIGRTMIN+3 "$image" /lib/systemd/systemd >/dev/null
    wait_docker "$1"
}

wait_docker() {
    for _ in $(seq 60); do
        docker exec "$1" docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    echo "capture: dockerd in $1 did not answer" >&2
    docker exec "$1" journalctl -u docker --no-pager -n 20 >&2 || true
    exit 1
}

wait_running() {  # wait_running PLATFORM: every nested container is up
    for _ in $(seq 30); do
        [ "$(docker exec "$1" sh -c 'docker ps -aq | wc -l')" = "$(docker exec "$1" sh -c 'docker ps -q | wc -l')" ] && return 0
        sleep 1
    done
}

capture() {  # capture PLATFORM NAME
    docker exec "$1" iptables-save | { grep -v '^#' || true; } >"$out/$2.iptables-save.txt"
    docker exec "$1" ip6tables-save | { grep -v '^#' || true; } >"$out/$2.ip6tables-save.txt"
    docker exec "$1" nft list ruleset >"$out/$2.nft-ruleset.txt"
    docker exec "$1" docker info --format '{{json .FirewallBackend}}' >"$out/$2.docker-info.txt"
    echo "capture: $2"
}

in_platform() { docker exec "$1" sh -c "$2"; }

restart_docker() {
    in_platform "$1" 'systemctl reset-failed docker.service; systemctl restart docker.service'
    wait_docker "$1"
    wait_running "$1"
}

web='docker run -d --restart always --name'
image_import='docker image inspect netops-lab/busybox >/dev/null 2>&1 || docker import /usr/local/share/netops-lab/busybox-rootfs.tar netops-lab/busybox:latest >/dev/null'
serve='netops-lab/busybox:latest httpd -f -p 80 -h /www'

# --- iptables backend, forwarding off at boot -------------------------------------------------
boot cap29a 0
capture cap29a q1-fwd0-after-start
in_platform cap29a "$image_import && $web web -p 8080:80 $serve >/dev/null"
wait_running cap29a
capture cap29a q2-published-default
in_platform cap29a "docker network create --subnet 198.51.100.128/26 labnet >/dev/null && $web web2 --network labnet -p 8081:80 $serve >/dev/null"
wait_running cap29a
capture cap29a q6-usernet-published
restart_docker cap29a
capture cap29a q4a-after-restart
# The switch to nftables on a running host: what iptables keeps until the next reboot.
in_platform cap29a 'echo "{\"firewall-backend\": \"nftables\"}" >/etc/docker/daemon.json'
restart_docker cap29a
capture cap29a n1-switched-fwd0
docker rm -f cap29a >/dev/null

# --- forwarding on at boot: the switch before and after a reboot ---------------------------------
boot cap29b 1
in_platform cap29b "$image_import && $web web -p 8080:80 $serve >/dev/null"
wait_running cap29b
capture cap29b q2-published-fwd1
in_platform cap29b 'echo "{\"firewall-backend\": \"nftables\"}" >/etc/docker/daemon.json'
restart_docker cap29b
capture cap29b n2-switched-before-reboot
docker restart --time 20 cap29b >/dev/null
wait_docker cap29b
wait_running cap29b
capture cap29b n3-switched-after-reboot
in_platform cap29b "docker network create --subnet 198.51.100.128/26 labnet >/dev/null && $web web2 --network labnet -p 8081:80 $serve >/dev/null"
wait_running cap29b
capture cap29b n4-nftables-usernet-published
docker rm -f cap29b >/dev/null
