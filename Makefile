# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: demo test install browser bench fuzz lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "Installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

test: $(STAMP) browser
	$(VENV)/bin/pytest

demo: $(STAMP)
	$(FLASK) init-instance
	$(FLASK) db upgrade
	$(FLASK) demo

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check . || true

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
