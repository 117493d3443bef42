# netops.docker_firewall: development, test and lab commands. Everything runs from a fresh
# clone: `make test` (all test stages) and `make demo` (the lab showing the problem and the fix)
# install what they need themselves. Run as root on a Debian machine (see CONTRIBUTING.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/.build
# The collection as Ansible resolves it: a link under an ansible_collections tree.
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/netops/docker_firewall
# ansible-test needs a real copy under .../ansible_collections/netops/docker_firewall.
SANITY_TREE := $(BUILD)/sanity/ansible_collections/netops/docker_firewall
# Scenarios `make test` runs, in this order, on one shared set of platforms (tests/lab/run-molecule.sh;
# bench and demo are driven by their own targets). A scenario whose molecule.yml has a line
# `# make-molecule-args: ARGS` runs with those arguments.
SCENARIOS ?= lab docker_user daemon_json router faults kube compliance replay29

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0
export ANSIBLE_NOCOLOR := 1
export NO_COLOR := 1

.PHONY: help
help:
	@echo "make test     all test stages (unit, sanity, lint, docs, diagrams-check, release-check beside molecule, mutations), with a timing line each"
	@echo "make demo     bring up a lab host and show the problem and the fix, with probes"
	@echo "make bench    DOCKER-USER benchmarks; make bench-compliance: the fleet compliance run against ping (figures, not pass/fail)"
	@echo "make unit | sanity | lint | diagrams-check | release-check | molecule [SCENARIOS='lab ...'] | mutations | images | venv | host | clean"
	@echo "make diagrams  render docs/diagrams/*.dot to the SVGs committed next to them"
	@echo "make docs     the docs site (antsibull-docs, Sphinx): modules, roles, filters and docs/*.md, in .build/docs/build/html"

.PHONY: host
host:
	tests/lab/bootstrap-host.sh

$(BIN)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r tests/requirements.txt
	touch $@

.PHONY: venv
venv: $(BIN)/.installed

.PHONY: collection
collection:
	mkdir -p $(dir $(COLLECTION_LINK))
	[ "$$(readlink $(COLLECTION_LINK))" = "$(CURDIR)" ] || ln -sfn $(CURDIR) $(COLLECTION_LINK)

.PHONY: images
images: host
	tests/lab/images/build.sh

.PHONY: test
test: host venv collection
	tests/lab/run-stages.sh molecule mutations --beside unit sanity lint docs diagrams-check release-check

.PHONY: unit
unit: venv collection
	cd $(COLLECTION_LINK) && $(BIN)/python -m pytest -q tests/unit

# ansible-core 2.21 needs Python 3.12 or newer: its sanity run uses a venv of its own.
PYTHON_313 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python3) $(shell command -v python3.13))
VENV_221 := $(CURDIR)/.venv-2.21

$(VENV_221)/bin/.installed:
	@test -n "$(PYTHON_313)" || { echo "no Python 3.13 found (set PYTHON_313)"; exit 1; }
	$(PYTHON_313) -m venv $(VENV_221)
	$(VENV_221)/bin/pip install -q ansible-core==2.21.5
	touch $@

# $(call run_sanity,VENV,PYTHON_VERSION): ansible-test sanity from VENV on a copy of the collection.
# ansible-test downloads a pip bootstrap script from a host our machines cannot reach: it gets the
# stand-in that bootstraps pip from the interpreter (tests/sanity/get_pip_offline.py).
define run_sanity
	rm -rf $(SANITY_TREE)
	mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | grep -zv '^\.build/' \
		| xargs -0 cp --parents -t $(SANITY_TREE)
	pip_version=$$(grep -oP "pip='\K[0-9.]+" $(1)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
		mkdir -p $(HOME)/.ansible/test/cache; \
		cp tests/sanity/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	cd $(SANITY_TREE) && git init -q && git add -A && \
		$(1)/bin/ansible-test sanity --venv --python $(2) --color no
endef

.PHONY: sanity
sanity: venv $(VENV_221)/bin/.installed
	@echo "== ansible-test sanity, ansible-core $$($(BIN)/ansible --version | head -1 | grep -oP '[0-9.]+(?=\])'), Python 3.11"
	$(call run_sanity,$(VENV),3.11)
	@echo "== ansible-test sanity, ansible-core 2.21.5, Python 3.13"
	$(call run_sanity,$(VENV_221),3.13)

# antsibull-docs and Sphinx live in a venv of their own, so that their dependencies never meet Molecule's.
VENV_DOCS := $(CURDIR)/.venv-docs

$(VENV_DOCS)/bin/.installed: tests/docs/requirements.txt
	$(PYTHON) -m venv $(VENV_DOCS)
	$(VENV_DOCS)/bin/pip install -q -r tests/docs/requirements.txt
	touch $@

.PHONY: lint
lint: venv collection $(VENV_DOCS)/bin/.installed
	$(BIN)/yamllint --strict .
	$(BIN)/antsibull-changelog lint
	$(BIN)/ansible-lint --profile production --offline
	cd $(COLLECTION_LINK) && PATH=$(VENV_DOCS)/bin:$$PATH $(VENV_DOCS)/bin/antsibull-docs lint-collection-docs --plugin-docs .

# The docs site, .build/docs/build/html/index.html: `antsibull-docs sphinx-init --use-current` and
# the build.sh it writes (module, role and filter pages from the plugin docs), plus docs/*.md and
# the roles' READMEs rendered from the Markdown by myst-parser (tests/docs/build.py). No network:
# intersphinx reads a local inventory of the Ansible docsite labels the pages use. It fails on any
# Sphinx warning (sphinx-build -W, nitpicky): a reference, label, toctree entry or Markdown link
# (page, heading, diagram SVG) that does not resolve; also on plugin docs antsibull-docs cannot
# parse, and when a module, role, filter or page has no HTML page or headless Chromium shows the
# front page or the collection's page without a link to it. A warning about
# .build/docs/rst/project/PATH is one about PATH. About 10 s once the venv is there.
.PHONY: docs
docs: collection $(VENV_DOCS)/bin/.installed
	PATH=$(VENV_DOCS)/bin:$$PATH $(VENV_DOCS)/bin/python tests/docs/build.py $(BUILD)/docs

.PHONY: molecule
molecule: venv collection images
	tests/lab/run-molecule.sh $(SCENARIOS)

# The packet-flow diagrams: SVGs rendered from docs/diagrams/*.dot (Graphviz), checked to be
# current and shown by headless Chromium.
.PHONY: diagrams
diagrams:
	$(PYTHON) tests/diagrams/check.py --write

.PHONY: diagrams-check
diagrams-check:
	$(PYTHON) tests/diagrams/check.py

.PHONY: release-check
release-check: venv
	tests/release-check.sh $(PYTHON) $(BUILD)

.PHONY: mutations
mutations: venv collection images
	tests/lab/check-lab-can-fail.sh

.PHONY: demo
demo: host venv collection images
	tests/lab/demo.sh

.PHONY: clean
clean:
	rm -rf $(BUILD) .pytest_cache .hypothesis

.PHONY: bench-compliance
bench-compliance: venv collection images
	$(BIN)/python tests/bench/compliance_scale.py

.PHONY: bench
bench: venv collection images
	$(BIN)/molecule create -s bench
	$(BIN)/molecule prepare -s bench
	$(BIN)/python tests/bench/run.py; status=$$?; $(BIN)/molecule destroy -s bench; exit $$status
