#!/usr/bin/env bash
# The collection as a user gets it: build the tarball, install it into an empty collections path
# from a fresh virtualenv holding only ansible-core (the version the test venv runs), then read
# every module's documentation and syntax-check every playbook from there. Nothing of the working
# tree is on the path. The tarball must hold no development file, and every link of its README must
# point at a file it holds. Then a plain ansible-lint in a fresh checkout, and `ansible-builder create`
# on docs/execution-environment.yml with that tarball. Usage: tests/release-check.sh PYTHON BUILD_DIR
set -euo pipefail
python=$1
work=$2/release
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ansible_builder=ansible-builder==3.2.0

rm -rf "$work"
mkdir -p "$work/collections"
version=$("$here/.venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "ansible-core==$version"
export PATH="$work/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_HOME="$work/ansible-home"
unset ANSIBLE_CONFIG
cd "$work"
ansible-galaxy collection build --output-path "$work" "$here" >/dev/null
tarball=$(ls "$work"/netops-docker_firewall-*.tar.gz)
ansible-galaxy collection install --offline -p "$work/collections" "$tarball" >/dev/null
# No local artefact may ship (virtualenvs, caches, test output).
if tar -tzf "$tarball" | grep -E '(^|/)(\.venv[^/]*|\.build|\.pytest_cache|\.hypothesis|__pycache__|tests/output)(/|$)'; then
    echo "release-check: the tarball holds local artefacts (above)" >&2
    exit 1
fi
# Nor what only contributors use: tests, the lab, CI, the make targets, the contributor guide, lint
# configurations (build_ignore in galaxy.yml).
if tar -tzf "$tarball" | grep -E '^(tests|molecule|\.ci|\.github|\.config|docs/_build)(/|$)|^(Makefile|CONTRIBUTING\.md|\.yamllint|\.ansible-lint|\.gitignore|execution-environment\.yml)$'; then
    echo "release-check: the tarball holds development files (above); add them to build_ignore in galaxy.yml" >&2
    exit 1
fi
# The installed README points only at what is installed: every relative Markdown link (anchors
# dropped) names a file or directory of the tarball.
if ! tar -xzOf "$tarball" README.md | "$python" -c '
import re, sys
shipped = set(line.rstrip("/") for line in open(sys.argv[1]).read().split())
missing = []
for target in re.findall(r"\]\(([^)\s]+)\)", sys.stdin.read()):
    path = target.split("#", 1)[0]
    if path and not re.match(r"[a-z][a-z0-9+.-]*:", path) and path.rstrip("/") not in shipped:
        missing.append(target)
for target in missing:
    print("README.md links to %s, which the tarball does not hold" % target)
sys.exit(1 if missing else 0)
' <(tar -tzf "$tarball"); then
    echo "release-check: README.md links to paths the tarball does not hold (above)" >&2
    exit 1
fi
for module in $(tar -tzf "$tarball" | sed -n 's|^plugins/modules/\([a-z_]*\)\.py$|\1|p'); do
    ansible-doc -t module "netops.docker_firewall.$module" >/dev/null
done
for role in $(tar -tzf "$tarball" | sed -n 's|^roles/\([a-z_]*\)/meta/argument_specs.yml$|\1|p'); do
    ansible-doc -t role "netops.docker_firewall.$role" >/dev/null
done
for playbook in $(tar -tzf "$tarball" | sed -n 's|^playbooks/\([a-z_]*\)\.yml$|\1|p'); do
    ansible-playbook --syntax-check -i localhost, "netops.docker_firewall.$playbook" >/dev/null
done

# A plain ansible-lint in a fresh checkout: the tree as it would be committed (tracked and
# untracked files, nothing ignored), no Makefile environment, and no network where a namespace can
# take it away. The collection must resolve from the checkout itself (.ansible-lint).
checkout=$work/checkout
mkdir -p "$checkout" "$work/lint-home"
(cd "$here" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi; done \
    | xargs -0 cp -P --parents -t "$checkout")
git -C "$checkout" init -q && git -C "$checkout" add -A
netns=() lint_net="with network"
if unshare -rn true 2>/dev/null; then netns=(unshare -rn) lint_net="offline"; fi
# SKIP_SCHEMA_UPDATE: with network, ansible-lint would rewrite the schemas in the dev venv.
if ! (cd "$checkout" && env -i PATH="$here/.venv/bin:/usr/bin:/bin" HOME="$work/lint-home" \
        ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1 "${netns[@]}" "$here/.venv/bin/ansible-lint" \
        >"$work/ansible-lint.log" 2>&1); then
    cat "$work/ansible-lint.log" >&2
    echo "release-check: ansible-lint fails in a fresh checkout (above)" >&2
    exit 1
fi

# The execution environment: `ansible-builder create` (never build) with the tarball beside the
# definition, as a user builds it. create only warns when a build file is missing, so the context
# is checked for the tarball under the name the galaxy stage installs, and for the pins.
ee=$work/ee
mkdir -p "$ee"
cp "$here/docs/execution-environment.yml" "$tarball" "$ee/"
"$python" -m venv "$work/builder-venv"
"$work/builder-venv/bin/pip" install -q "$ansible_builder"
"$work/builder-venv/bin/ansible-builder" create -f "$ee/execution-environment.yml" -c "$ee/context" \
    --output-filename Containerfile >/dev/null
name=$(basename "$tarball")
jmespath=$(grep '^jmespath==' "$here/tests/requirements.txt")
runner=$(grep '^ansible-runner==' "$here/tests/requirements.txt")
if ! [[ -f $ee/context/_build/collections/$name ]] \
        || ! grep -qx -- "- name: /build/collections/$name" "$ee/context/_build/requirements.yml" \
        || ! grep -qx "ARG ANSIBLE_INSTALL_REFS=\"ansible-core==$version $runner\"" "$ee/context/Containerfile" \
        || ! grep -qx "$jmespath" "$ee/context/_build/requirements.txt"; then
    echo "release-check: docs/execution-environment.yml does not install $name with ansible-core $version," \
         "$runner and $jmespath (update it with galaxy.yml and tests/requirements.txt)" >&2
    exit 1
fi

# Every execution environment that installs the collection reads its dependencies from the installed
# meta/execution-environment.yml (a file ansible-builder cannot read fails that build): jmespath.
if ! introspected=$("$work/builder-venv/bin/ansible-builder" introspect "$work/collections" 2>&1) \
        || ! grep -q 'jmespath .*# from collection netops.docker_firewall' <<<"$introspected"; then
    printf '%s\n' "$introspected" >&2
    echo "release-check: ansible-builder introspect does not read jmespath from the installed collection's" \
         "meta/execution-environment.yml (above)" >&2
    exit 1
fi

echo "release-check: $name ($(tar -tzf "$tarball" | wc -l) files) installs from an empty path;" \
     "ansible-doc reads every module and role, every playbook passes --syntax-check (ansible-core $version);" \
     "ansible-lint passes in a fresh checkout ($lint_net); ansible-builder create takes docs/execution-environment.yml, introspect reads meta/;" \
     "no development file ships and every README link resolves in the tarball"
