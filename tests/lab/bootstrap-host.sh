#!/usr/bin/env bash
# Prepares a fresh Debian machine to run the lab: installs what is missing (Docker engine,
# iptables, debootstrap, make, curl, xz, chromium, graphviz), starts dockerd when it does not answer, and waits for it.
# Idempotent: on a prepared machine it only checks. Does not touch daemon.json.
set -euo pipefail

die() { echo "bootstrap-host: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root: it installs packages and starts dockerd"

needed=()
command -v dockerd >/dev/null || needed+=(docker.io)
command -v iptables >/dev/null || needed+=(iptables)
command -v debootstrap >/dev/null || needed+=(debootstrap)
command -v make >/dev/null || needed+=(make)
# tests/lab/images/build.sh reads Debian's package index (is there a docker.io 29 yet?).
command -v curl >/dev/null || needed+=(curl)
command -v xz >/dev/null || needed+=(xz-utils)
# The compliance scenario renders its HTML report in headless Chromium.
command -v chromium >/dev/null || needed+=(chromium)
# The packet-flow diagrams (docs/diagrams) are rendered with Graphviz, in the DejaVu fonts.
command -v dot >/dev/null || needed+=(graphviz)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || needed+=(fonts-dejavu-core)
if [ ${#needed[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found: install ${needed[*]} by hand"
    echo "bootstrap-host: installing ${needed[*]}"
    apt-get -q update
    DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${needed[@]}"
fi

if ! docker info >/dev/null 2>&1; then
    # Services are not started by the package here (no systemd as PID 1 on CI machines).
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        echo "bootstrap-host: starting dockerd (log: /var/log/dockerd.log)"
        setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    fi
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { tail -n 20 /var/log/dockerd.log >&2 || true; die "dockerd did not answer within 60 s"; }
fi
echo "bootstrap-host: Docker $(docker version --format '{{.Server.Version}}') is up"
