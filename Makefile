# hsar: `make demo` and `make test` work on a fresh machine with Python 3.11+ and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= hsar-data
DEMO_SIPS ?= demo-sips
HSAR := $(BIN)/hsar --home $(HOME_DIR)
# `make demo` ends serving the demo home at http://127.0.0.1:$(DEMO_PORT)/ (Ctrl-C stops); DEMO_SERVE=0 stops before.
DEMO_SERVE ?= 1
DEMO_PORT ?= 5000
# One demo account per role, role:username:password:division (the demo data's archives are all in 南京市 320100).
DEMO_ACCOUNTS := admin:demo-admin:demo-admin-pass:000000 archivist:demo-archivist:demo-archivist-pass:320100 \
  auditor:demo-auditor:demo-auditor-pass:320100 researcher:demo-researcher:demo-researcher-pass:320100

.PHONY: venv system-deps demo test test-latest lock lint bench clean

# Installs come from requirements.lock (exact versions, every file's hash): a fresh machine today and next
# year gets the same packages. `make lock` re-resolves it deliberately; `make test-latest` tries the newest.
$(BIN)/hsar: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(BIN)/hsar

venv: $(BIN)/hsar

# PostgreSQL server binaries let the catalogue tests run against PostgreSQL too, redis-server the job tests
# against Redis, wrk the load-client tests of bench/web.py, nginx the reverse-proxy tests (they skip without them).
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
	@if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing wrk for bench/web.py --client wrk and its tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi
	@if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ] && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "installing nginx for the reverse-proxy tests (tests/web/test_proxy_nginx.py)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	fi
	@if { ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; } \
	    && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium and a Chinese font for the browser tests (tests/e2e)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi
	@if { ! command -v tesseract >/dev/null 2>&1 || ! [ -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] \
	      || ! command -v softhsm2-util >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -qi 'noto.*cjk'; } \
	    && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing tesseract (chi_sim), a CJK font for the demo scans, and SoftHSM2 for the PKCS#11 tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-chi-sim \
	    fonts-noto-cjk softhsm2 >/dev/null; \
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
	$(BIN)/hsar paper demo-register $(DEMO_SIPS) $(DEMO_SIPS)/paper-register.csv
	$(HSAR) paper import $(DEMO_SIPS)/paper-register.csv
	$(HSAR) paper reconcile
	$(HSAR) paper reconcile --store
	@for a in $(DEMO_ACCOUNTS); do set -- $$(echo "$$a" | tr : ' '); \
	  echo "$$3" | $(HSAR) user add "$$2" --role "$$1" --division "$$4" --password-stdin || exit 1; done
	@echo; printf '%-11s %-16s %-22s %s\n' role username password division; \
	for a in $(DEMO_ACCOUNTS); do set -- $$(echo "$$a" | tr : ' '); printf '%-11s %-16s %-22s %s\n' "$$1" "$$2" "$$3" "$$4"; done; echo
	@if [ "$(DEMO_SERVE)" != 0 ]; then \
	  echo "demo at http://127.0.0.1:$(DEMO_PORT)/ (Ctrl-C stops it and the hsar worker beside it)"; \
	  $(HSAR) worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(HSAR) serve --host 127.0.0.1 --port $(DEMO_PORT); \
	fi

# the browser tests' screenshots (tests/e2e) go to the README's docs/screenshots/ unless HSAR_SCREENSHOTS names
# another folder (a bare `pytest` writes them to a temporary folder)
HSAR_SCREENSHOTS ?= docs/screenshots

test: venv system-deps
	$(BIN)/ruff check repository tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	HSAR_SCREENSHOTS='$(HSAR_SCREENSHOTS)' $(BIN)/pytest

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
	.venv-latest/bin/pip install -q --disable-pip-version-check --upgrade -e '.[test,postgres,demo,pkcs11]'
	.venv-latest/bin/pytest

lint: venv
	$(BIN)/ruff check repository tests bench

clean:
	rm -rf $(VENV) .venv-latest $(HOME_DIR) $(DEMO_SIPS) .pytest_cache .ruff_cache
