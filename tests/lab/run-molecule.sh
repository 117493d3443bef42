#!/usr/bin/env bash
# Runs Molecule scenarios on one shared set of lab platforms: created once (scenario default, the
# platforms of .config/molecule/config.yml), then each scenario with --shared-state, whose prepare
# starts with the shared reset (molecule/shared/tasks/reset.yml), and destroyed at the end, also
# after a failure. Prints each scenario's time; stops at the first scenario that fails.
#
#   tests/lab/run-molecule.sh SCENARIO [SCENARIO ...]
#
# A scenario whose molecule.yml has a line `# make-molecule-args: ARGS` runs with those arguments.
set -uo pipefail
cd "$(dirname "$0")/../.."

export MOLECULE_EPHEMERAL_DIRECTORY=${MOLECULE_EPHEMERAL_DIRECTORY:-$PWD/.build/molecule}
state=$MOLECULE_EPHEMERAL_DIRECTORY/state.yml

molecule destroy -s default >/dev/null 2>&1 || true
trap 'echo "== molecule destroy -s default"; molecule destroy -s default >/dev/null 2>&1' EXIT
echo "== molecule create -s default"
started=$SECONDS
molecule create -s default || exit 1
echo "== molecule platforms created: $((SECONDS - started)) s"

for scenario in "$@"; do
    args=$(sed -n 's/^# make-molecule-args: //p' "molecule/$scenario/molecule.yml")
    # One state file for all: every scenario runs its own prepare.
    [ ! -f "$state" ] || sed -i 's/^prepared: true$/prepared: false/' "$state"
    echo "== molecule test -s $scenario --shared-state $args"
    started=$SECONDS
    log=$MOLECULE_EPHEMERAL_DIRECTORY/$scenario.log
    # shellcheck disable=SC2086
    if ! molecule test --shared-state --destroy never -s "$scenario" $args 2>&1 | tee "$log"; then
        # CI keeps only the end of the output: the failed tasks, with what they printed, come last.
        echo "== molecule $scenario: what failed"
        sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E -B3 -A25 '^[[:space:]│]*((fatal|failed): \[|\[ERROR\]: Error loading)' | tail -150
        echo "== molecule $scenario: FAILED after $((SECONDS - started)) s"
        exit 1
    fi
    echo "== molecule $scenario: $((SECONDS - started)) s"
done
