#!/usr/bin/env bash
# Runs test stages (make targets) one after the other, prints a timing line per stage and a
# summary, and fails when any stage failed. Every stage runs even after a failure, so that one
# run shows everything that is wrong.
#
#   tests/lab/run-stages.sh STAGE [STAGE ...]
set -uo pipefail

passed=0
failed=0
summary=()
for stage in "$@"; do
    echo "===== stage $stage"
    started=$SECONDS
    if make --no-print-directory "$stage"; then
        result=ok
        passed=$((passed + 1))
    else
        result=FAILED
        failed=$((failed + 1))
    fi
    line=$(printf 'stage %-10s %-6s %5d s' "$stage" "$result" $((SECONDS - started)))
    echo "$line"
    summary+=("$line")
done
echo "===== summary"
printf '%s\n' "${summary[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
