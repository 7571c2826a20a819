"""A pytest plugin for your own tests: a real ``overcast serve`` on a free loopback port, with a
fresh data directory, and an openstacksdk connection to it. Installed with Overcast (``pytest11``
entry point ``overcast``), so depending on ``overcast`` is all it takes::

    def test_my_tool_makes_a_network(overcast):
        conn = overcast.connection                       # openstacksdk, user demo in project demo
        net = conn.network.create_network(name="net1")
        assert conn.network.get_network(net.id).name == "net1"
        # overcast.clouds_yaml: the clouds.yaml path, for the openstack CLI, Terraform, Ansible ...

One server per test session (per pytest-xdist worker), started on first use. Between tests it
keeps what earlier tests made, unless asked to reset:

- ``pytest --overcast-reset`` or ``overcast_reset = true`` in the ini file: every test that uses
  ``overcast`` starts from the state the first start made (``POST /_overcast/reset``, well
  under a second);
- ``@pytest.mark.overcast_reset`` on a test or module: the same, for those tests only.

The fixture also offers ``reset()``, ``save(name)`` / ``load(name)`` (saved states),
``fault(kind=..., ...)`` / ``clear_faults()`` (faults on demand; see ``overcast.core.faults``),
``admin_connection`` and ``url``. ``--overcast-workers N`` sets the server's processes
(default: as many as the machine has cores); ``--overcast-config FILE`` passes a configuration.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.testing.live import LiveServer, sdk_connect

__all__ = ["Overcast"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("overcast", "Overcast: a real OpenStack for your tests")
    group.addoption("--overcast-reset", action="store_true", default=None,
                    help="reset Overcast to its first-start state before each test using the overcast fixture")
    group.addoption("--overcast-workers", type=int, default=None, help="server processes (default: one per core)")
    group.addoption("--overcast-config", default=None, help="an overcast.toml for the server")
    parser.addini("overcast_reset", "reset Overcast before each test using the overcast fixture", type="bool",
                  default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "overcast_reset: reset Overcast to its first-start state before this test")


class Overcast:
    """What a test gets: connections, the clouds.yaml path, and the testing API."""

    def __init__(self, server: LiveServer):
        self.server = server
        self._connections: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def clouds_yaml(self) -> Path:
        return self.server.clouds_yaml

    def connect(self, cloud: str = "overcast") -> Any:
        """An openstacksdk connection for a cloud of clouds.yaml (overcast, overcast-alt,
        overcast-admin, overcast-system-admin), made once per test."""
        if cloud not in self._connections:
            self._connections[cloud] = sdk_connect(self.clouds_yaml, cloud)
        return self._connections[cloud]

    @property
    def connection(self) -> Any:
        """openstacksdk as ``demo``, a member of project ``demo``."""
        return self.connect("overcast")

    @property
    def admin_connection(self) -> Any:
        return self.connect("overcast-admin")

    def _admin_call(self, method: str, path: str, body: Any = None) -> Any:
        token = self.admin_connection.session.get_token()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"X-Auth-Token": token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310 - loopback
            text = resp.read()
        return json.loads(text) if text else None

    def reset(self) -> float:
        """Back to the first-start state; returns the seconds the server took."""
        return self._admin_call("POST", "/_overcast/reset")["reset"]["seconds"]

    def save(self, name: str) -> None:
        self._admin_call("POST", "/_overcast/states", {"state": {"name": name}})

    def load(self, name: str) -> float:
        return self._admin_call("POST", f"/_overcast/states/{name}/load")["state"]["seconds"]

    def fault(self, **rule: Any) -> int:
        """Inject a fault (e.g. ``kind="fail", family="compute", action="build", count=1``); its id."""
        return self._admin_call("POST", "/_overcast/faults", {"fault": rule})["fault"]["id"]

    def clear_faults(self) -> None:
        self._admin_call("DELETE", "/_overcast/faults")

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


@pytest.fixture(scope="session")
def overcast_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The session's ``overcast serve`` (testing API on, bcrypt at its cheapest)."""
    config = request.config.getoption("--overcast-config")
    server = LiveServer(tmp_path_factory.mktemp("overcast"), env={"OVERCAST_TESTING_ADMIN_API": "true"},
                        workers=request.config.getoption("--overcast-workers"), config=config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def overcast(request: pytest.FixtureRequest, overcast_server: LiveServer) -> Iterator[Overcast]:
    """A running Overcast: ``.connection`` (openstacksdk), ``.clouds_yaml``, ``.reset()`` ..."""
    handle = Overcast(overcast_server)
    option = request.config.getoption("--overcast-reset")
    wanted = (option if option is not None else request.config.getini("overcast_reset")) or \
        request.node.get_closest_marker("overcast_reset") is not None
    if wanted:
        handle.reset()
    try:
        yield handle
    finally:
        handle.close()
