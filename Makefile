# The two commands a newcomer needs: `make dev` (the whole stack locally) and `make test`.
# System packages (redis-server, chromium for the browser tests, prometheus for the metrics test,
# shellcheck for the deploy scripts, wrk for `make bench`) come from apt, only where missing. Python
# packages come only from the hashed locks in requirements/ (see `make lock`).
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP  := $(VENV)/.installed
LOCKS  := requirements/dev.txt requirements/interceptor.txt requirements/ui-connector.txt requirements/build.txt

.PHONY: install lock test dev bench interceptor ui-connector api-docs clean

install: $(STAMP)

# The same installs as the images: the build tools, then the dependencies, all pinned and hashed,
# then the project itself without dependencies (editable, so the tests run the working tree).
$(STAMP): pyproject.toml $(LOCKS) package.json package-lock.json
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	if [ -n "$$missing" ]; then \
		echo "Installing with apt:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/build.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python requirements/locks.py check || \
		echo "WARNING: pyproject.toml and requirements/*.txt disagree (above); run 'make lock'." >&2
	npm ci --no-audit --no-fund --silent
	@touch $@

# Adding or changing a Python dependency: edit pyproject.toml, then `make lock`. It resolves for
# the images' platform (CPython 3.11, Linux) whatever this machine is: dev.txt first, then each
# service's lock constrained to it, so the tests run exactly the versions the images ship.
# Upgrading everything: delete requirements/*.txt first (uv keeps the pins it finds otherwise).
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform linux --custom-compile-command 'make lock'

lock: install
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements/dev.txt
	$(UV_COMPILE) pyproject.toml --extra interceptor -c requirements/dev.txt -o requirements/interceptor.txt
	$(UV_COMPILE) pyproject.toml --extra ui-connector -c requirements/dev.txt -o requirements/ui-connector.txt
	$(BIN)/python requirements/locks.py build-inputs | $(UV_COMPILE) - -o requirements/build.txt
	$(BIN)/python requirements/locks.py check
	@$(MAKE) --no-print-directory install

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

# The API documents in docs/api/ (OpenAPI for both services' REST APIs, AsyncAPI for the Socket.IO API),
# written from the code that serves them; the unit tests fail while a committed one differs.
api-docs: install
	$(BIN)/python -m cloud_pubsub_interceptor.openapi
	$(BIN)/python -m ui_connector.openapi
	$(BIN)/python -m ui_connector.asyncapi

clean:
	rm -rf $(VENV) node_modules .pytest_cache artifacts .devstack
