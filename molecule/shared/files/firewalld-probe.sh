#!/usr/bin/env bash
# Lab: a denied source probes a published port while firewalld is reloaded and restarted, and a
# sampler records every 20 ms whether the collection's IPv4 rules are the first rules of
# DOCKER-USER with FORWARD jumping there before any rule that can accept. Prints one JSON object:
# the probes made, those that got through, those that got through although every sample around
# them saw our rules in force (a path around the policy), and each window (ms) in which our rules
# were not in force.
#
#   firewalld-probe NS ADDR PORT ACTION...     ACTION: reload | restart
# Actions are SPACING seconds apart (environment, default 5): a window longer than that outlasted the
# reload that opened it.
# Our IPv4 rules as they should be, one per line, on stdin (the kept rules docker_firewall_info reads).
set -u
[ $# -ge 4 ] || { echo "usage: firewalld-probe NS ADDR PORT ACTION... <RULES" >&2; exit 2; }
ns=$1 addr=$2 port=$3 spacing=${SPACING:-5}
shift 3
case "$addr" in 198.51.100.*) ;; *) echo "firewalld-probe: $addr is not a lab address" >&2; exit 2 ;; esac
work=$(mktemp -d)
wanted=$(grep -v '^$')
[ -n "$wanted" ] || { echo "firewalld-probe: no rules of ours on stdin" >&2; exit 2; }
count=$(printf '%s\n' "$wanted" | grep -c .)

in_force() {
    local rules
    rules=$(iptables -w -S 2>/dev/null) || return 1
    # Docker's isolation jumps only drop: the jump to DOCKER-USER must be the first other rule.
    [ "$(printf '%s\n' "$rules" | grep '^-A FORWARD ' | grep -v -e '-j DOCKER-ISOLATION-STAGE-[12]$' | head -n 1)" \
        = '-A FORWARD -j DOCKER-USER' ] || return 1
    [ "$(printf '%s\n' "$rules" | grep '^-A DOCKER-USER ' | head -n "$count")" = "$wanted" ]
}

# Bounded: each loop stops at the stop file or after its count, whichever comes first.
for _ in $(seq 3000); do
    [ -e "$work/stop" ] && break
    start=$(date +%s%N)
    if ip netns exec "$ns" timeout 0.3 busybox wget -q -O /dev/null "http://$addr:$port/" 2>/dev/null; then
        result=through
    else
        result=blocked
    fi
    echo "$start $(date +%s%N) $result"
    sleep 0.05
done >"$work/probes" &
prober=$!
for _ in $(seq 6000); do
    [ -e "$work/stop" ] && break
    if in_force; then state=1; else state=0; fi
    echo "$(date +%s%N) $state"
    sleep 0.02
done >"$work/samples" &
sampler=$!

sleep 1
for action in "$@"; do
    case $action in
        reload) firewall-cmd --reload >/dev/null ;;
        restart) systemctl restart firewalld.service ;;
        *) echo "firewalld-probe: unknown action $action" >&2 ;;
    esac
    sleep "$spacing"
done
touch "$work/stop"
wait "$prober" "$sampler"

gaps=$(awk '$2 == 0 && !open { open = 1; start = $1 }
            $2 == 1 && open { open = 0; printf "%s%d", sep, ($1 - start) / 1000000; sep = "," }
            END { if (open) printf "%s%d", sep, -1 }' "$work/samples")
# A probe that got through while the samples just before its start and just after its end both saw
# our rules in force (and none between them saw them missing) found a way around them.
around=$(awk 'NR == FNR { t[NR] = $1; s[NR] = $2; n = NR; next }
              $3 == "through" {
                  ok = 0; before = 0; after = 0
                  for (i = 1; i <= n; i++) {
                      if (t[i] <= $1) { before = s[i] }
                      else if (t[i] <= $2) { if (s[i] == 0) break }
                      else { after = s[i]; ok = before && after; break }
                  }
                  if (ok) count++
              }
              END { print count + 0 }' "$work/samples" "$work/probes")
printf '{"probes": %d, "through": %d, "through_while_in_force": %d, "samples": %d, "gaps_ms": [%s], "in_force_at_end": %s}\n' \
    "$(wc -l <"$work/probes")" "$(grep -c ' through$' "$work/probes")" "$around" "$(wc -l <"$work/samples")" \
    "$gaps" "$(if in_force; then echo true; else echo false; fi)"
rm -rf "$work"
