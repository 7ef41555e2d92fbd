# raykube: `make demo` and `make test` do all set-up on a fresh machine (Python venv, Go-built tools).
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: all venv tools tools-kuberay test test-unit test-integration lint demo demo-down crds chart-crds charts clean node-deps test-e2e chaos conformance

all: test

$(VENV_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

venv: $(VENV_STAMP)

tools:
	@tools/build.sh

# KubeRay's Go operator (the benchmarks' baseline; tests/integration/test_bench.py runs it): built here, before
# the tests start, so a cold machine's Go build never runs inside a test's timeout.
tools-kuberay:
	@tools/build.sh kuberay-operator

# Debian packages of the real node (containerd, runc, CNI plugins, iptables, conntrack) and of image builds.
node-deps:
	@scripts/install-node-deps

test: venv tools tools-kuberay node-deps
	@scripts/run-tests

test-unit: venv
	@$(PY) -m pytest tests/unit -q

test-integration: venv tools tools-kuberay
	@$(PY) -m pytest tests/integration -q

test-e2e: venv tools node-deps
	@$(PY) -m pytest tests/e2e -q

# The chaos suite (minutes; not part of `make test`): the bad-manifest corpus and kill -9, leader freeze, API
# outage and watch expiry against its own local cluster. Figures in docs/reliability.md; every answer in
# CHAOS_REPORT. Exits non-zero on a crash, hang, silent retry loop, unanswered manifest or lost/duplicate pod.
CHAOS_REPORT ?= chaos-report.json
chaos: venv tools
	@$(PY) -m bench.chaos.run --report $(CHAOS_REPORT)

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
