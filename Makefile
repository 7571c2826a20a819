# Overcast developer entry points. Everything runs from the virtual environment in .venv.
#   make venv    create .venv and install Overcast with its test dependencies
#   make serve   run Overcast on the embedded default (SQLite under .overcast/)
#   make dashboard   Horizon (OpenStack's dashboard) over it on http://127.0.0.1:8781 (run next to make serve)
#   make test    the whole suite: unit, functional, live-server (openstack CLI + SDK), Tempest, hosts
#   make test-hosts  the hypervisor-host tests (marker `hosts`: real QEMU guests, libvirtd, RabbitMQ)
# Live tests also run on PostgreSQL when OVERCAST_TEST_POSTGRES_URL is set (see .ci/run).

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
HOST     ?= 127.0.0.1
PORT     ?= 8780
DASHBOARD_PORT ?= 8781
DATA_DIR ?= .overcast
PYTEST_ARGS ?=

.PHONY: venv serve dashboard test test-fast test-hosts tempest-report clean

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

# Horizon in its own virtual environment (installed on first use), pointed at `make serve`'s Keystone.
dashboard: venv
	OVERCAST_SERVER_HOST=$(HOST) OVERCAST_SERVER_PORT=$(PORT) $(BIN)/overcast --data-dir $(DATA_DIR) dashboard \
		--port $(DASHBOARD_PORT)

test: venv
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Everything except the live-server and Tempest tests.
test-fast: venv
	$(BIN)/python -m pytest -n auto -m 'not live and not tempest' $(PYTEST_ARGS)

# The hypervisor-host tests alone (root, libvirtd, RabbitMQ, real TCG guests: tests/hosts).
test-hosts: venv
	$(BIN)/python -m pytest -n 2 -m hosts tests/hosts $(PYTEST_ARGS)

# Run all of tempest.api.identity against a fresh server and print what passes.
tempest-report: venv
	$(BIN)/python tests/tempest/run.py --all --report

clean:
	rm -rf $(VENV) .pytest_cache
