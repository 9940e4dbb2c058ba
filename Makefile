# One command to run, one to test. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# bpmn-js for the monitor's diagrams, from npm into web/node_modules (served locally, never a CDN)
NODE_STAMP := web/node_modules/.installed

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): web/package.json web/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix web --no-audit --no-fund && touch $(NODE_STAMP); \
	else echo "npm not found: pages work, but process diagrams are not shown until 'make install' runs with npm"; fi

install: $(STAMP) $(NODE_STAMP)

# PORT=5001 make run serves elsewhere; the SMS evaluation links follow the port unless
# PUBLIC_BASE_URL is set (then it must name the address people reach this server at)
PORT ?= 5000
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/hotline init-db
	$(BIN)/hotline deploy
	$(BIN)/hotline load-demo
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/hotline serve --port $(PORT)

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check runtime workdays hotline web tests bench

bench: $(STAMP)
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) instance web/node_modules
