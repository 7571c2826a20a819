# Overcast developer entry points. Everything runs from the virtual environment in .venv.
#   make venv    create .venv and install Overcast with its test dependencies
#   make serve   run Overcast on the embedded default (SQLite under .overcast/)
#   make test    the whole suite: unit, functional, live-server (openstack CLI + SDK), Tempest
# Live tests also run on PostgreSQL when OVERCAST_TEST_POSTGRES_URL is set (see .ci/run).

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
HOST     ?= 127.0.0.1
PORT     ?= 8780
DATA_DIR ?= .overcast
PYTEST_ARGS ?=

.PHONY: venv serve test test-fast tempest-report clean

venv: $(STAMP)

# The first install takes a minute or more: say so, and let pip show each package as it goes.
$(STAMP): pyproject.toml
	@echo "==> installing Overcast and its test tools into $(VENV) (the first time takes a minute or two)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -e '.[test]'
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

serve: venv
	$(BIN)/overcast serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: venv
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Everything except the live-server and Tempest tests.
test-fast: venv
	$(BIN)/python -m pytest -n auto -m 'not live and not tempest' $(PYTEST_ARGS)

# Run all of tempest.api.identity against a fresh server and print what passes.
tempest-report: venv
	$(BIN)/python tests/tempest/run.py --all --report

clean:
	rm -rf $(VENV) .pytest_cache
