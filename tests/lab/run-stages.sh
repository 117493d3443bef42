#!/usr/bin/env bash
# Runs test stages (make targets), prints a timing line per stage and a summary, and fails when
# any stage failed. Every stage runs even after a failure, so that one run shows everything that
# is wrong.
#
#   tests/lab/run-stages.sh LAB_STAGE [...] [--beside STAGE [...]]
#
# The lab stages run one after the other in the foreground. The stages after --beside need no lab
# (unit tests, sanity, lint, docs): they run one after the other while the lab stages run, on the
# CPU time the lab leaves idle (it waits on reboots, restarts and probes that time out); their
# output goes to .build/stages/STAGE.log and is printed after the lab stages. They must not use the
# lab's platforms or its Molecule state.
#
# The lane must yield to the lab platforms' own processes, which run in Docker's cgroups, not beside
# ours: a nice value only orders processes within one cgroup. So the beside lane goes into a cgroup of
# its own with a tenth of the default CPU weight (cgroup v2 cpu.weight 10, v1 cpu.shares 102), and its
# processes run at nice 19. Not idle: a starved lane would cross the time-outs of its own tests while
# the lab builds images. Where no cgroup can be made (read-only /sys/fs/cgroup), nice 19 alone.
#
# The budget (`make test` on a fresh 2-core machine): 45 minutes when the lab images are built from
# scratch, 35 when they are built already. The summary prints the total against it.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUDGET_FRESH=$((45 * 60))
BUDGET_BUILT=$((35 * 60))
LOGS=.build/stages

lab_stages=()
beside_stages=()
target=lab_stages
for arg in "$@"; do
    if [ "$arg" = --beside ]; then target=beside_stages; continue; fi
    if [ "$target" = lab_stages ]; then lab_stages+=("$arg"); else beside_stages+=("$arg"); fi
done

# Runs one stage; prints and records its timing line (to $LOGS/STAGE.result) and returns its result.
run_stage() {
    local stage=$1 started=$SECONDS result=ok rc=0
    echo "===== stage $stage"
    make --no-print-directory "$stage" || rc=$?
    [ "$rc" -eq 0 ] || result=FAILED
    printf 'stage %-14s %-6s %5d s\n' "$stage" "$result" $((SECONDS - started)) | tee "$LOGS/$stage.result"
    return "$rc"
}

mkdir -p "$LOGS"
rm -f "$LOGS"/*.result "$LOGS"/*.log
# Whether every lab image is built already (then the tighter budget applies).
images_built=$(tests/lab/images/build.sh --built && echo yes || echo no)
total_started=$SECONDS

# Moves process $1 (and what it starts from then on) to a low CPU priority; prints how.
BESIDE_CGROUP=netops-dfw-beside
lowest_priority() {
    local pid=$1 dir= how=
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        dir=/sys/fs/cgroup/$BESIDE_CGROUP
        grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null \
            || { echo +cpu >/sys/fs/cgroup/cgroup.subtree_control; } 2>/dev/null || true
    elif [ -d /sys/fs/cgroup/cpu ]; then
        dir=/sys/fs/cgroup/cpu/$BESIDE_CGROUP
    fi
    if [ -n "$dir" ] && mkdir -p "$dir" 2>/dev/null; then
        if { echo 10 >"$dir/cpu.weight"; } 2>/dev/null || { echo 102 >"$dir/cpu.shares"; } 2>/dev/null; then
            { echo "$pid" >"$dir/cgroup.procs"; } 2>/dev/null && how="cgroup $dir (a tenth of the default CPU weight)"
        fi
    fi
    renice -n 19 -p "$pid" >/dev/null 2>&1 && how="${how:+$how, }nice 19"
    echo "${how:-default priority (no cgroup or renice worked)}"
}

beside_pid=
if [ "${#beside_stages[@]}" -gt 0 ]; then
    (
        lane=$BASHPID
        echo "===== the beside lane runs at: $(lowest_priority "$lane")" >"$LOGS/beside-priority.log"
        for stage in "${beside_stages[@]}"; do
            run_stage "$stage" >"$LOGS/$stage.log" 2>&1
        done
    ) &
    beside_pid=$!
    echo "===== beside the lab stages, on the CPU time the lab leaves: ${beside_stages[*]} (output printed after the lab stages)"
fi

for stage in "${lab_stages[@]}"; do
    run_stage "$stage"
done

if [ -n "$beside_pid" ]; then
    wait "$beside_pid"
    cat "$LOGS/beside-priority.log"
    for dir in /sys/fs/cgroup/$BESIDE_CGROUP /sys/fs/cgroup/cpu/$BESIDE_CGROUP; do
        rmdir "$dir" 2>/dev/null || true  # empty once the lane is done
    done
    for stage in "${beside_stages[@]}"; do
        cat "$LOGS/$stage.log"
    done
fi

echo "===== summary"
passed=0
failed=0
for stage in "${beside_stages[@]}" "${lab_stages[@]}"; do
    if [ -f "$LOGS/$stage.result" ]; then
        cat "$LOGS/$stage.result"
        if grep -q ' ok ' "$LOGS/$stage.result"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    else
        printf 'stage %-14s FAILED (did not finish)\n' "$stage"
        failed=$((failed + 1))
    fi
done
echo "stages: $passed passed, $failed failed"
total=$((SECONDS - total_started))
if [ "$images_built" = yes ]; then budget=$BUDGET_BUILT; what="lab images built before the run"
else budget=$BUDGET_FRESH; what="lab images built in this run"; fi
printf 'total %d min %02d s against a budget of %d min (%s): %s\n' $((total / 60)) $((total % 60)) \
    $((budget / 60)) "$what" "$([ "$total" -le "$budget" ] && echo within || echo OVER)"
[ "$failed" -eq 0 ]
