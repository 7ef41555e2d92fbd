# raykube: `make demo` and `make test` do all set-up on a fresh machine (Python venv, Go-built tools).
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: all venv tools test test-unit test-integration lint demo demo-down crds chart-crds charts clean node-deps test-e2e \
	conformance

all: test

$(VENV_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

venv: $(VENV_STAMP)

tools:
	@tools/build.sh

# Debian packages of the real node (containerd, runc, CNI plugins, iptables, conntrack) and of image builds.
node-deps:
	@scripts/install-node-deps

test: venv tools node-deps
	@scripts/run-tests

test-unit: venv
	@$(PY) -m pytest tests/unit -q

test-integration: venv tools
	@$(PY) -m pytest tests/integration -q

test-e2e: venv tools node-deps
	@$(PY) -m pytest tests/e2e -q

lint: venv
	@.venv/bin/ruff check src tests bench
	@.venv/bin/mypy
	@.venv/bin/lint-imports

# KubeRay's own operator (built from the Go module proxy) and raykube's, in turn, over every KubeRay v1.7.0
# sample on the local cluster; compared, printed, written to docs/conformance.md; fails on an unclassified
# difference. CONFORMANCE_ARGS: e.g. --write-golden (refresh tests/golden/kuberay), --only SAMPLE.
conformance: venv tools
	@$(PY) -m bench.conformance.run $(CONFORMANCE_ARGS)

demo: venv tools node-deps
	@scripts/demo

crds: venv
	@$(PY) -m raykube.api.crdgen
	@scripts/sync-chart-crds

# The chart's copy of the CRDs (charts/kuberay-operator/crds), refreshed from config/crd/bases.
chart-crds:
	@scripts/sync-chart-crds

# Package the charts into a Helm repository directory (CHARTS_DIR, default .charts); serve it with
# `.venv/bin/raykube local charts serve`.
CHARTS_DIR ?= .charts
charts: venv tools
	@.venv/bin/raykube local charts build --dir $(CHARTS_DIR)

demo-down: venv
	@scripts/demo --down

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
