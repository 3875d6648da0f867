# hsar: `make demo` and `make test` work on a fresh machine with Python 3.11+ and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= hsar-data
DEMO_SIPS ?= demo-sips

.PHONY: venv demo test lint clean bench

$(BIN)/hsar: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/hsar

venv: $(BIN)/hsar

demo: venv
	rm -rf $(HOME_DIR) $(DEMO_SIPS)
	$(BIN)/hsar --home $(HOME_DIR) init
	$(BIN)/hsar demo-data $(DEMO_SIPS) --households 12 --units 6 --seed 7 --defects
	$(BIN)/hsar --home $(HOME_DIR) demo

test: venv
	$(BIN)/ruff check repository tests bench
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check repository tests bench

clean:
	rm -rf $(VENV) $(HOME_DIR) $(DEMO_SIPS) .pytest_cache .ruff_cache
