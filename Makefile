# netdevops.icmp — two commands on a fresh Debian 12 machine, as root:
#   make demo   build a lab of network namespaces, run the collection's main job, tear it down
#   make test   every test layer: unit, sanity, lint, changelog, galaxy, docs, integration (lab),
#               molecule, compat (oldest and newest ansible-core)
# Both install what they need (apt-get packages, a pinned virtualenv) on the way.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILD := $(CURDIR)/.build
REPORTS ?= $(CURDIR)/reports
export ANSIBLE_COLLECTIONS_PATH := $(BUILD)/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test unit vendor sanity lint changelog galaxy docs compat release integration molecule build install-check \
        bench system venv link clean

demo: system venv link
	@bash scripts/demo.sh

test: system venv link
	@bash scripts/test.sh

system:
	@bash scripts/setup-system.sh

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	@echo "venv: installing pinned requirements into $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q -r requirements-test.txt
	@touch $@

# The working tree, importable and usable as ansible_collections/netdevops/icmp.
link:
	@mkdir -p $(BUILD)/collections/ansible_collections/netdevops
	@ln -sfn $(CURDIR) $(BUILD)/collections/ansible_collections/netdevops/icmp

unit: venv link
	$(BIN)/pytest -q -n 2 tests/unit

sanity: venv
	bash scripts/sanity.sh

lint: venv link
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint

# The fragments lint, and a dry 1.0.0 release in a temporary copy gives release notes without
# internal entries (tests/galaxy/check_changelog.py).
changelog: venv
	bash scripts/release.sh --check

# The release itself (the lead, after merging): changelogs/changelog.yaml and CHANGELOG.rst.
release: venv link
	bash scripts/release.sh

# galaxy-importer, what Galaxy and Automation Hub run on upload, on the built tarball (own venv).
galaxy: venv
	bash scripts/galaxy-importer.sh

# The docs site: generated guides current, antsibull-docs lint of plugin docs and extra docs.
docs: venv link
	$(BIN)/python scripts/docsite.py --check
	PATH="$(BIN):$$PATH" $(BIN)/antsibull-docs lint-collection-docs --plugin-docs \
	  $(BUILD)/collections/ansible_collections/netdevops/icmp

# Unit tests and a smoke set of integration tests on the oldest and newest ansible-core we support.
compat: venv link
	bash scripts/compat.sh

integration: venv link
	$(BIN)/pytest -q tests/integration

molecule: venv link
	bash scripts/molecule.sh

build: venv
	@mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

bench: system venv link
	@$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

# The vendors' own code (cisco.ios, amazon.aws, botocore) in a virtualenv of its own, for tests/vendor.
VENDOR_VENV := $(BUILD)/vendor-venv
$(VENDOR_VENV)/.installed: requirements-vendor.txt
	@echo "vendor: installing requirements-vendor.txt into $(VENDOR_VENV)"
	@test -x $(VENDOR_VENV)/bin/python || $(PYTHON) -m venv $(VENDOR_VENV)
	@$(VENDOR_VENV)/bin/python -m pip install -q -r requirements-vendor.txt
	@touch $@

vendor: venv link $(VENDOR_VENV)/.installed
	NETDEVOPS_VENDOR_PYTHON=$(VENDOR_VENV)/bin/python $(BIN)/pytest -q tests/vendor

clean:
	rm -rf $(BUILD) $(REPORTS)
