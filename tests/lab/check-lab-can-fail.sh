#!/usr/bin/env bash
# Proves the lab scenario's verify can fail: breaks one premise at a time and expects
# `molecule test -s lab` to fail on the assertion that guards it.
#
#   LAB_IP_FORWARD_AT_BOOT=1   dockerd starts with forwarding already on: no FORWARD DROP
#   LAB_PUBLISH_PORT=false     the nested container publishes no port
set -uo pipefail

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failures=0

expect_failure() {
    local label=$1 expected=$2
    shift 2
    echo "== mutation: $label"
    if env "$@" molecule test -s lab >"$log" 2>&1; then
        echo "FAILED: the lab verify passed although $label"
        failures=$((failures + 1))
    elif grep -q -- "$expected" "$log" && grep -q "FAILED!" "$log"; then
        echo "ok: verify failed with: $expected"
    else
        echo "FAILED: the lab failed, but not with: $expected"
        tail -n 40 "$log"
        failures=$((failures + 1))
    fi
}

expect_failure "dockerd starts with forwarding on" "Docker did not set the FORWARD policy to DROP" LAB_IP_FORWARD_AT_BOOT=1
expect_failure "no port is published" "the published port answers from the WAN: expected reach" LAB_PUBLISH_PORT=false
[ "$failures" -eq 0 ]
