#!/bin/sh
# Prints a platform's iptables and ip6tables rule sets for byte-for-byte comparisons, without
# the comment lines (they carry timestamps) and the policy counters (traffic moves them).
#
#   lab-ruleset all       everything
#   lab-ruleset foreign   everything except DOCKER-USER (Docker's and other tools' chains)
set -eu
mode=${1:-all}
for save in iptables-save ip6tables-save; do
    echo "## $save"
    $save | awk -v mode="$mode" '
        /^#/ { next }
        mode == "foreign" && ($0 ~ /^-A DOCKER-USER / || $0 ~ /^:DOCKER-USER /) { next }
        /^:/ { sub(/ \[[0-9]+:[0-9]+\]$/, "") }
        { print }'
done
