# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps scale-deps scale-demo bench fuzz lint clean messages translations

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev,simulators,scale]"
	touch $(STAMP)

install: $(STAMP) translations

# Languages: `make messages` re-extracts every _() into the catalogues (then translate the empty msgstr
# entries in webapp/translations/sw/LC_MESSAGES/messages.po); `make translations` compiles them to .mo
# (not committed: install, test and demo compile them, and so does the test suite's conftest).
CATALOGUES := $(wildcard webapp/translations/*/LC_MESSAGES/messages.po)
PYBABEL := $(VENV)/bin/pybabel

%.mo: %.po $(STAMP)
	$(PYBABEL) compile --statistics -i $< -o $@

translations: $(CATALOGUES:.po=.mo)

messages: $(STAMP)
	$(PYBABEL) extract -F babel.cfg -k _l -k lazy_gettext -k _n:1,2 --no-location --sort-output --no-wrap \
	  --project RouterDeck -o webapp/translations/messages.pot .
	$(PYBABEL) update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching \
	  --ignore-obsolete --no-wrap

# Debian packages the suite needs: Chromium drives the browser tests (Playwright cannot download its own
# browser here), a throwaway PostgreSQL cluster proves the schema is not SQLite-only, and a throwaway
# redis-server is the broker of the scale-mode tests.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The scale-out stack's engines (make scale-demo): PostgreSQL and Redis from Debian.
scale-deps:
	@missing=""; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# gunicorn (3 workers), two Celery workers, the scheduler and a simulated fleet over PostgreSQL and Redis.
scale-demo: $(STAMP) scale-deps
	./scripts/scale-demo.sh

# Everything on SQLite, then the services, API and dashboard suites again on a throwaway PostgreSQL cluster
# (test_migrations already proves both databases in the first pass; the isolation matrix copies one seeded
# SQLite file per request and checks roles, not engines).
test: $(STAMP) translations system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest
	ROUTERDECK_TEST_DATABASE=postgresql $(VENV)/bin/pytest tests/services tests/webapp --ignore=tests/webapp/test_migrations.py \
	  --ignore=tests/webapp/test_isolation_matrix.py

# `make demo PORT=5050 HOST=0.0.0.0` serves elsewhere than http://127.0.0.1:5000.
HOST ?= 127.0.0.1
PORT ?= 5000
demo: $(STAMP) translations
	$(FLASK) init-instance
	$(FLASK) db upgrade
	$(FLASK) demo --host $(HOST) --port $(PORT)

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Schemathesis against the live app on loopback: FUZZ_EXAMPLES per operation, at least 10,000 cases in all
# (the test suite runs the same harness with a few hundred).
FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP)
	FUZZ_RANDOM=1 FUZZ_MAX_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_MIN_CASES=10000 $(VENV)/bin/pytest tests/fuzz -q --timeout=1800

# ruff (style and bug patterns) and mypy (types; its scope and strictness live in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
