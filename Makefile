# walrus-evm: two commands on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

.PHONY: help bootstrap up test lint typecheck layers unit contracts integration bench clean \
	test-reliability

help:
	@echo "make up      start the local network (devnet, contracts, nodes, backend, web UI)"
	@echo "make test    install what is missing, lint, type-check, run the whole test suite"
	@echo "make bench   run the benchmarks (JSON lines under bench/results/)"

bootstrap:
	@scripts/bootstrap

up: bootstrap
	@$(PY) -m scripts.up

lint: bootstrap
	@.venv/bin/ruff check backend nodes scripts tests bench
	@.venv/bin/ruff format --check backend nodes scripts tests bench

typecheck: bootstrap
	@.venv/bin/mypy

layers: bootstrap
	@.venv/bin/lint-imports --no-cache

# Two workers, one test file each at a time: a file's module-scoped node network is
# started once, in one worker (PYTEST_WORKERS=0 runs in this process).
test: lint typecheck layers
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: bootstrap
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

contracts: bootstrap
	@$(PY) -m pytest tests/contracts $(PYTEST_ARGS)

integration: bootstrap
	@$(PY) -m pytest tests/integration tests/e2e $(PYTEST_ARGS)

# faults, fuzzing, security checks (tests/reliability); not part of `make test`; the
# scenario counts are rendered into docs/reliability.md
test-reliability: bootstrap
	@WALRUS_RELIABILITY=1 $(PY) -m pytest tests/reliability $(PYTEST_ARGS); status=$$?; \
	$(PY) -m tests.reliability.render; exit $$status

# bench/load.py needs a running `make up` network: run it by hand (docs/benchmarks.md)
bench: bootstrap
	@for b in $(filter-out bench/load.py bench/report.py,$(wildcard bench/*.py)); do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf contracts/out .pytest_cache .mypy_cache .ruff_cache
