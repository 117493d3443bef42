#!/bin/sh
# Prints a platform's iptables and ip6tables rule sets for byte-for-byte comparisons, without
# the comment lines (they carry timestamps) and the policy counters (traffic moves them).
#
#   lab-ruleset all       everything, and the collection's nftables table where nft is installed
#   lab-ruleset foreign   everything except DOCKER-USER (Docker's and other tools' chains)
#   lab-ruleset others    only other tools' rules: not Docker's, not the collection's
#                         NETOPS-DFW-* chains, no rule naming a Docker interface, and no
#                         built-in chain policies (Docker sets them)
#   lab-ruleset complete  everything the kernel filters with: every nftables table (in name order,
#                         so that a table loaded again compares equal), the ipsets, and daemon.json
set -eu
mode=${1:-all}
if [ "$mode" = complete ]; then
    nft list tables | sort | while read -r _ family name; do nft list table "$family" "$name"; done \
        | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/g'
    for save in iptables-legacy-save ip6tables-legacy-save; do
        echo "## $save"
        $save | { grep -v '^#' || true; } | sed -E 's/\[[0-9]+:[0-9]+\]$//'
    done
    ipset save
    sha256sum /etc/docker/daemon.json 2>/dev/null || echo "no /etc/docker/daemon.json"
    exit 0
fi
for save in iptables-save ip6tables-save; do
    echo "## $save"
    $save | awk -v mode="$mode" '
        /^#/ { next }
        mode == "foreign" && ($0 ~ /^-A DOCKER-USER / || $0 ~ /^:DOCKER-USER /) { next }
        mode == "others" && ($0 ~ /(^[:]|^-A |-[jg] )(DOCKER|NETOPS-DFW-)/ || $0 ~ /^:[A-Z]+ [A-Z]+ / ||
                             $0 ~ /-[io] (docker[0-9]+|docker_gwbridge|br-[0-9a-f]+)( |$)/ ||
                             $0 ~ /^-A POSTROUTING -s [^ ]+\/32 -d [^ ]+\/32 -p [a-z]+ -m [a-z]+ --dport [0-9]+ -j MASQUERADE$/) { next }
        /^:/ { sub(/ \[[0-9]+:[0-9]+\]$/, "") }
        # "others" leaves out tables that hold nothing of other tools (Docker 28 adds raw).
        mode == "others" && /^\*/ { table = $0; next }
        mode == "others" && /^COMMIT/ { if (table == "") print; table = ""; next }
        table != "" { print table; table = "" }
        { print }'
done
if [ "$mode" = all ] && command -v nft >/dev/null; then
    echo "## nft list table inet netops-docker-firewall"
    { nft list table inet netops-docker-firewall 2>/dev/null || true; } | sed -E 's/ counter packets [0-9]+ bytes [0-9]+//'
fi
