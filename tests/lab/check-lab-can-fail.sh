#!/usr/bin/env bash
# Proves the lab's assertions can fail: breaks one premise at a time and expects the scenario to
# fail on the assertion that guards it. Each runs on one platform: a premise is the same on each.
#
# The lab scenario's premises:
#   LAB_IP_FORWARD_AT_BOOT=1   dockerd starts with forwarding already on: no FORWARD DROP
#   LAB_PUBLISH_PORT=false     the nested container publishes no port
# The shared lab's reset between scenarios (molecule/reset_check):
#   LAB_RESET_MUTATION=keep-profile      the previous scenario's router profile is not removed
#   LAB_RESET_MUTATION=keep-daemon-json  its daemon.json stays
set -uo pipefail
cd "$(dirname "$0")/../.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failures=0

expect_failure() {
    local scenario=$1 label=$2 expected=$3
    shift 3
    echo "== mutation ($scenario): $label"
    local started=$SECONDS
    if env "$@" molecule test -s "$scenario" --platform-name bookworm >"$log" 2>&1; then
        echo "FAILED: $scenario passed although $label"
        failures=$((failures + 1))
    elif grep -q -- "$expected" "$log" && grep -q "FAILED!" "$log"; then
        echo "ok: failed with: $expected ($((SECONDS - started)) s)"
    else
        echo "FAILED: $scenario failed, but not with: $expected"
        tail -n 40 "$log"
        failures=$((failures + 1))
    fi
}

expect_failure lab "dockerd starts with forwarding on" "Docker did not set the FORWARD policy to DROP" \
    LAB_IP_FORWARD_AT_BOOT=1
expect_failure lab "no port is published" "the published port answers from the WAN: expected reach" \
    LAB_PUBLISH_PORT=false
expect_failure reset_check "the previous scenario's profile is left on the host" "left on the host: DOCKER-USER blocks" \
    LAB_RESET_MUTATION=keep-profile
expect_failure reset_check "the previous scenario's daemon.json is left" "not back to the first-boot state" \
    LAB_RESET_MUTATION=keep-daemon-json
[ "$failures" -eq 0 ]
