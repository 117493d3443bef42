#!/usr/bin/env bash
# `make demo`: brings up the lab hosts (Docker 20.10, 26.1, 28.5), shows what Docker does to a
# router, applies the router profile (playbook netops.docker_firewall.docker_on_router), and shows
# the result. Every probe is a real HTTP request between namespaces inside a lab host.
# DEMO_KEEP=1 keeps the hosts.
set -euo pipefail
cd "$(dirname "$0")/../.."

hosts=(bookworm trixie docker28)
log=/tmp/netops-dfw-demo.log
inventory=$(mktemp)
vars_file=$(mktemp --suffix .yml)
trap 'rm -f "$inventory" "$vars_file"; [ "${DEMO_KEEP:-0}" = 1 ] || molecule destroy -s demo >/dev/null 2>&1' EXIT
for host in "${hosts[@]}"; do
    # The lab connects as root; the playbook's become (sudo) is not needed there.
    echo "$host ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3 ansible_become=false"
done >"$inventory"

echo "Bringing up the lab hosts (molecule create -s demo; log: $log) ..."
molecule destroy -s demo >"$log" 2>&1 || true
molecule create -s demo >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }

probe() {  # probe HOST LABEL NS ADDR PORT
    local host=$1 label=$2 answer
    if answer=$(docker exec "$host" labnet probe "$3" "$4" "$5" 2>/dev/null); then
        printf '    %-44s answers (%s)\n' "$label" "$answer"
    else
        printf '    %-44s BLOCKED\n' "$label"
    fi
}

show() {
    for host in "${hosts[@]}"; do
        printf '  %s, Docker %s, FORWARD policy %s\n' "$host" \
            "$(docker exec "$host" docker version --format '{{.Server.Version}}')" \
            "$(docker exec "$host" iptables -S FORWARD | awk 'NR==1 {print $3}')"
        probe "$host" "LAN 198.51.100.2 -> WAN 198.51.100.18:8000" lan 198.51.100.18 8000
        probe "$host" "WAN 198.51.100.18 -> LAN 198.51.100.2:8000" wan1 198.51.100.2 8000
        probe "$host" "wan1 -> published port 198.51.100.17:8080" wan1 198.51.100.17 8080
        probe "$host" "wan2 -> published port 198.51.100.17:8080" wan2 198.51.100.17 8080
        probe "$host" "wan2 -> published port [2001:db8:2::1]:8080" wan2 2001:db8:2::1 8080
        container=$(docker exec "$host" docker inspect --format '{{.NetworkSettings.IPAddress}}' lab-web)
        probe "$host" "wan2 -> container $container:80 (routed)" wan2 "$container" 80
    done
}

echo
echo "BEFORE: Docker switched forwarding on and set FORWARD to DROP; the host no longer routes."
echo "IPv6 clients reach the published port through docker-proxy; Docker 20.10 and 26 let a routed"
echo "client reach the container's own address."
show

echo
echo "FIX: the router profile, on all three hosts at once:"
cat >"$vars_file" <<'VARS'
docker_on_router_accept:
  - {in_interface: int0, out_interface: ext0}
docker_on_router_allowlists:
  - {interface: ext0, sources: [198.51.100.18, 2001:db8:2::18]}
VARS
echo "  \$ ansible-playbook netops.docker_firewall.docker_on_router -e docker_on_router_hosts=all -e @vars.yml"
sed 's/^/      /' "$vars_file"
playbook_log=$(ansible-playbook -i "$inventory" netops.docker_firewall.docker_on_router \
    -e docker_on_router_hosts=all -e "@$vars_file" 2>&1) || { echo "$playbook_log" | tail -n 40; exit 1; }
echo "$playbook_log" | grep -A3 '^PLAY RECAP' | tail -n 3 | sed 's/^/    /'

echo
echo "AFTER: LAN and WAN route again; only wan1 reaches the published port, over IPv4 (the IPv6 path"
echo "through docker-proxy is closed: userland-proxy false), and nobody routes straight to the container."
show
