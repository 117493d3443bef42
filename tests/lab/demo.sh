#!/usr/bin/env bash
# `make demo`: brings up the lab hosts (Docker 20.10, 26.1, 28.5), shows what Docker does to a
# router, applies the collection's fix with ad-hoc module calls, and shows the result. Every probe
# is a real HTTP request between namespaces inside a lab host. DEMO_KEEP=1 keeps the hosts.
set -euo pipefail
cd "$(dirname "$0")/../.."

hosts=(bookworm trixie docker28)
inventory=$(mktemp)
trap 'rm -f "$inventory"; [ "${DEMO_KEEP:-0}" = 1 ] || molecule destroy -s demo >/dev/null 2>&1' EXIT
for host in "${hosts[@]}"; do
    echo "$host ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3"
done >"$inventory"

log=/tmp/netops-dfw-demo.log
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
    done
}

echo
echo "BEFORE: Docker switched forwarding on and set FORWARD to DROP; the host no longer routes."
show

echo
echo "FIX (ad hoc, on all three hosts at once):"
summary='
import json, sys
for host, result in sorted(json.load(sys.stdin)["plays"][0]["tasks"][0]["hosts"].items()):
    line = "%s: %s" % (host, "FAILED " + result.get("msg", "") if result.get("failed") else
                       "changed" if result.get("changed") else "ok")
    if not result.get("failed"):
        line += ", backend %s, families %s" % (result["backend"], "+".join(result["families"]))
    for warning in result.get("warnings", []):
        line += "\n      warning: %s" % (warning["event"]["msg"] if isinstance(warning, dict) else warning)
    print("    " + line)
'
fix() {
    echo "  \$ ansible lab -m netops.docker_firewall.$1 -a '$2'"
    ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=ansible.posix.json \
        ansible -i "$inventory" all -m "netops.docker_firewall.$1" -a "$2" | python3 -c "$summary"
}
fix docker_user_accept "in_interface=int0 out_interface=ext0"
fix docker_user_allowlist "interface=ext0 sources=198.51.100.18,2001:db8:2::18"

echo
echo "AFTER: LAN and WAN route again; only wan1 reaches the published port."
show
