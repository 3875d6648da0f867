# hsar: `make demo` and `make test` work on a fresh machine with Python 3.11+ and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= hsar-data
DEMO_SIPS ?= demo-sips
HSAR := $(BIN)/hsar --home $(HOME_DIR)

.PHONY: venv system-deps demo test test-latest lock lint bench clean

# Installs come from requirements.lock (exact versions, every file's hash): a fresh machine today and next
# year gets the same packages. `make lock` re-resolves it deliberately; `make test-latest` tries the newest.
$(BIN)/hsar: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(BIN)/hsar

venv: $(BIN)/hsar

# PostgreSQL server binaries let the catalogue tests run against PostgreSQL too, and redis-server the job tests
# against Redis (they skip without them).
# Installed only where we are root on Debian/Ubuntu and they are missing; nothing else is needed system-wide.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "installing PostgreSQL server for the catalogue tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! command -v redis-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "installing redis-server for the job-queue tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

demo: venv
	rm -rf $(HOME_DIR) $(DEMO_SIPS)
	$(HSAR) init
	$(BIN)/hsar demo-data $(DEMO_SIPS) --households 12 --units 6 --seed 7 --defects
	$(HSAR) sip validate $(DEMO_SIPS)/0001-unit-un-*
	-$(HSAR) sip validate $(DEMO_SIPS)/defects/BAG011-*
	$(HSAR) ingest --workers 2 $(DEMO_SIPS)
	-$(HSAR) ingest $(DEMO_SIPS)/defects
	$(HSAR) show $$(ls $(DEMO_SIPS) | grep -m1 -o 'hh-[0-9-]*[0-9]')
	$(HSAR) search 年度复核 --facet status --mask
	$(HSAR) audit --all
	$(HSAR) audit log --verify

test: venv system-deps
	$(BIN)/ruff check repository tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

# Re-resolve every dependency (pyproject.toml and requirements/build.in) to the newest allowed release.
lock: venv
	$(BIN)/pip install -q --disable-pip-version-check 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --all-extras --universal --python-version 3.11 \
	  --generate-hashes --upgrade -o requirements.lock

# The suite against the newest releases pyproject.toml allows, in a venv of its own: a dependency's new
# release that breaks hsar fails here, not on main.
test-latest: system-deps
	rm -rf .venv-latest
	$(PY) -m venv .venv-latest
	.venv-latest/bin/pip install -q --disable-pip-version-check --upgrade pip
	.venv-latest/bin/pip install -q --disable-pip-version-check --upgrade -e '.[test,postgres]'
	.venv-latest/bin/pytest

lint: venv
	$(BIN)/ruff check repository tests bench

clean:
	rm -rf $(VENV) .venv-latest $(HOME_DIR) $(DEMO_SIPS) .pytest_cache .ruff_cache
