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
    # shellcheck disable=SC2086
    if ! molecule test --shared-state --destroy never -s "$scenario" $args; then
        echo "== molecule $scenario: FAILED after $((SECONDS - started)) s"
        exit 1
    fi
    echo "== molecule $scenario: $((SECONDS - started)) s"
done
