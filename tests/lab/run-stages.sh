#!/usr/bin/env bash
# Runs test stages (make targets) one after the other, prints a timing line per stage and a
# summary, and fails when any stage failed. Every stage runs even after a failure, so that one
# run shows everything that is wrong.
#
#   tests/lab/run-stages.sh STAGE [STAGE ...]
#
# The budget (`make test` on a fresh 2-core machine): 45 minutes when the lab images are built from
# scratch, 35 when they are built already. The summary prints the total against it.
set -uo pipefail
BUDGET_FRESH=$((45 * 60))
BUDGET_BUILT=$((35 * 60))

passed=0
failed=0
summary=()
# Whether every lab image is built already (then the tighter budget applies).
images_built=$(tests/lab/images/build.sh --built && echo yes || echo no)
total_started=$SECONDS
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
total=$((SECONDS - total_started))
if [ "$images_built" = yes ]; then budget=$BUDGET_BUILT; what="lab images built before the run"
else budget=$BUDGET_FRESH; what="lab images built in this run"; fi
printf 'total %d min %02d s against a budget of %d min (%s): %s\n' $((total / 60)) $((total % 60)) \
    $((budget / 60)) "$what" "$([ "$total" -le "$budget" ] && echo within || echo OVER)"
[ "$failed" -eq 0 ]
