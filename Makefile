# The two commands a newcomer needs: `make dev` (the whole stack locally) and `make test`.
# System packages (redis-server, chromium for the browser tests, prometheus for the metrics test, wrk for
# `make bench`) come from apt, only where missing.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP  := $(VENV)/.installed

.PHONY: install test dev bench interceptor ui-connector clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "Installing with apt:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	npm install --no-audit --no-fund --silent
	@touch $@

test: install
	$(BIN)/python -m pytest

dev: install
	$(BIN)/python -m devstack

bench: install
	$(BIN)/python -m benchmarks

# Each service in the foreground exactly as production runs it; configure with environment variables.
interceptor: install
	$(BIN)/python -m cloud_pubsub_interceptor.server

ui-connector: install
	$(BIN)/gunicorn --config python:ui_connector.gunicorn_conf

clean:
	rm -rf $(VENV) node_modules .pytest_cache artifacts .devstack
