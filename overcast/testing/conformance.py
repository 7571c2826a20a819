"""The compute driver conformance kit: a pytest plugin and a test suite every driver must pass.

Installed with Overcast as a pytest plugin (``pytest11`` entry point), so a driver package gets it
by depending on ``overcast``. Two ways to run it:

1. Subclass the suite and provide the driver (the usual way; the fixture can do any setup)::

       # tests/test_conformance.py in your driver package
       import pytest
       from overcast.testing.conformance import ComputeDriverConformance
       from mycloud_overcast import MyComputeDriver

       class TestMyCloud(ComputeDriverConformance):
           @pytest.fixture
           def compute_driver(self, tmp_path):
               driver = MyComputeDriver(endpoint="http://127.0.0.1:9999")
               yield driver
               driver.close()

2. No test file at all, for a driver registered under the ``overcast.drivers`` entry point group::

       pytest --pyargs overcast.testing.conformance_suite --overcast-driver=mycloud \\
              --overcast-driver-option region=lab --overcast-driver-option build_delay=0

   The plugin's default ``compute_driver`` fixture loads the named driver with those options and
   a temporary data directory (values are parsed as JSON when they parse, else kept as strings).

Class attributes a subclass may change: ``flavor``, ``other_flavor`` (resize target), ``image``,
``build_timeout``, ``action_timeout``, ``poll_interval``.

What is checked: the driver's method signatures match :class:`ComputeDriver` (Poppy's drivers
drifted from their base classes because nothing checked), each taking the
:class:`~overcast.drivers.context.CallContext` first (the suite passes one to every call: see
:class:`CheckedDriver`); declared capabilities are exactly the ones whose methods are overridden;
undeclared ones raise ``NotSupported``; build returns an id and reaches ACTIVE; builds are
idempotent on the key; ``find`` is one lookup (it does not list every server) and agrees with
``get``, as do ``get_many`` (unknown ids left out), ``list`` (every server, more than one page's
worth) and ``status``; delete then get raises ``NotFound``; deleting a missing id succeeds; every
declared action moves the state as documented and the ones a resumed operation repeats
(``attach_volume``, ``snapshot`` with the same key) are idempotent; ``snapshot`` returns an
:class:`~overcast.drivers.compute.ImageRef` to an image the backend keeps (listed by ``images``,
gone after ``delete_image``); records carry an ``extra`` mapping; and every exception a driver
raises anywhere in the suite is a :class:`~overcast.drivers.errors.DriverError`.
"""

from __future__ import annotations

import dataclasses

import inspect
import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest

from overcast.drivers.compute import (CAPABILITY_METHODS, BlockDevice, BuildRequest, Capability, ComputeDriver,
                                      Diagnostics, Flavor, Image, ImageRef, NetworkAttachment, PowerState,
                                      RemoteConsole, ServerGroup, ServerInfo, ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, DriverError, InvalidRequest, NotFound, NotSupported, NotSuspended
from overcast.drivers.headroom import Headroom

MISSING_ID = "overcast-conformance-missing-0000"


# -- the plugin ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("overcast", "Overcast driver conformance")
    group.addoption("--overcast-driver", default=None, metavar="NAME",
                    help="load this driver (an 'overcast.drivers' entry point) for the conformance suite")
    group.addoption("--overcast-driver-option", action="append", default=[], metavar="KEY=VALUE",
                    help="an option for --overcast-driver (repeatable; values parsed as JSON if they parse)")


def parse_driver_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--overcast-driver-option wants KEY=VALUE, not {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


@pytest.fixture
def compute_driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ComputeDriver]:
    """The driver under test. Override this fixture, or run pytest with ``--overcast-driver=NAME``."""
    name = request.config.getoption("--overcast-driver")
    if not name:
        pytest.skip("no driver to test: override the compute_driver fixture or pass --overcast-driver=NAME")
    from overcast.drivers.registry import load_driver

    bundle = load_driver(name, parse_driver_options(request.config.getoption("--overcast-driver-option")),
                         tmp_path / "data")
    if bundle.compute is None:
        pytest.skip(f"driver {name!r} offers no compute family")
    try:
        yield bundle.compute
    finally:
        bundle.close()


# -- helpers ------------------------------------------------------------------------------------
def assert_headroom(declared: bool, read: Callable[[], Any], names: set[str], required: str) -> None:
    """The headroom check of the compute, volume and network kits (decision 0046): ``read`` asks
    the driver for its headroom, which it answers only when it ``declared`` ``reports_headroom``."""
    if not declared:
        with pytest.raises(NotSupported):
            read()
        return
    headroom = read()
    assert isinstance(headroom, Headroom), f"headroom() returned {headroom!r}"
    assert required in headroom.limits and required in headroom.used, headroom
    for mapping in (headroom.limits, headroom.used):
        assert set(mapping) <= names, f"{sorted(set(mapping) - names)} are not quota names of the family"
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in mapping.values()), mapping
    assert all(v >= 0 for v in headroom.used.values()) and all(v >= -1 for v in headroom.limits.values())


class CheckedDriver:
    """Wraps a driver: every call of an interface method gets :attr:`ctx` (a CallContext, as the
    engine passes one to every call) unless the test gives one; any exception that is not a
    DriverError fails the test; built ids are tracked so the suite cleans up after itself."""

    #: the interface whose methods take a CallContext first
    interface: type = ComputeDriver

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.built: list[str] = []
        self.ctx = CallContext(project_id="conformance-project", user_id="conformance-user",
                               request_id=f"req-{uuid.uuid4()}", idempotency_key=f"conformance-{uuid.uuid4().hex}")

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.driver, name)
        if name.startswith("_") or not callable(attr):
            return attr
        takes_ctx = callable(getattr(self.interface, name, None))

        def call(*args: Any, **kwargs: Any) -> Any:
            if takes_ctx and not (args and isinstance(args[0], CallContext)) and "ctx" not in kwargs:
                args = (self.ctx, *args)
            try:
                result = attr(*args, **kwargs)
            except DriverError:
                raise
            except Exception as exc:  # noqa: BLE001 - that is the point
                pytest.fail(f"{type(self.driver).__name__}.{name} raised {type(exc).__module__}."
                            f"{type(exc).__qualname__}: {exc}; a driver raises only "
                            f"overcast.drivers.errors.DriverError subclasses", pytrace=True)
            if name == "build":
                self.built.append(result)
            return result

        return call


def assert_find_is_one_lookup(driver: CheckedDriver, monkeypatch: pytest.MonkeyPatch, key: str, backend_id: str,
                              kind: str) -> None:
    """``find(key)`` finds ``backend_id`` without calling ``list`` (one lookup, not a scan)."""
    def listing(*_: Any, **__: Any) -> Any:
        raise AssertionError(f"find() listed every {kind} to find one")

    monkeypatch.setattr(driver.driver, "list", listing)
    found = driver.find(key)
    assert found is not None and found.backend_id == backend_id
    assert driver.find(f"never-used-{uuid.uuid4().hex}") is None


def overridden(driver_type: type, name: str) -> bool:
    """True if ``driver_type`` defines ``name`` itself rather than inheriting ComputeDriver's."""
    base = getattr(ComputeDriver, name)
    mine = getattr(driver_type, name)
    return getattr(mine, "__func__", mine) is not getattr(base, "__func__", base)


def interface_methods() -> list[str]:
    """Every public method of the interface."""
    return sorted(name for name, value in vars(ComputeDriver).items()
                  if not name.startswith("_") and callable(value))


# -- the suite ----------------------------------------------------------------------------------
class ComputeDriverConformance:
    """Subclass as ``TestSomething`` and provide a ``compute_driver`` fixture (or use --overcast-driver)."""

    flavor = Flavor(id="conformance-1", name="conformance.small", vcpus=1, ram_mb=512, disk_gb=1)
    other_flavor = Flavor(id="conformance-2", name="conformance.medium", vcpus=2, ram_mb=1024, disk_gb=2)
    image = Image(id="conformance-image", name="cirros", min_disk_gb=0, min_ram_mb=0)
    #: seconds to wait for a build to reach ACTIVE / an action to reach its state / a delete to finish
    build_timeout = 60.0
    action_timeout = 60.0
    poll_interval = 0.05

    # -- fixtures and helpers ----------------------------------------------------------------
    @pytest.fixture
    def driver(self, compute_driver: ComputeDriver) -> Iterator[CheckedDriver]:
        assert isinstance(compute_driver, ComputeDriver), (
            f"compute_driver must be a ComputeDriver, not {type(compute_driver).__name__}")
        checked = CheckedDriver(compute_driver)
        yield checked
        for backend_id in checked.built:
            try:
                compute_driver.delete(checked.ctx, backend_id)
            except DriverError:
                pass

    def request(self, **changes: Any) -> BuildRequest:
        """A build request with a fresh name and idempotency key."""
        token = uuid.uuid4().hex[:10]
        fields: dict[str, Any] = {"name": f"conformance-{token}", "flavor": self.flavor, "image": self.image,
                                  "idempotency_key": f"conformance-{token}"}
        fields.update(changes)
        return BuildRequest(**fields)

    def wait_for(self, driver: CheckedDriver, backend_id: str, *states: ServerState,
                 timeout: float | None = None) -> ServerInfo:
        """Poll get() until the server is in one of ``states`` (bounded); ERROR fails the test."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.action_timeout)
        seen: list[ServerState] = []
        while True:
            info = driver.get(backend_id)
            assert isinstance(info, ServerInfo), f"get() returned {type(info).__name__}, not ServerInfo"
            assert isinstance(info.state, ServerState), f"ServerInfo.state is {info.state!r}, not a ServerState"
            if not seen or seen[-1] is not info.state:
                seen.append(info.state)
            if info.state in states:
                return info
            if info.state is ServerState.ERROR and ServerState.ERROR not in states:
                pytest.fail(f"server {backend_id} went to ERROR ({info.fault}) waiting for "
                            f"{[s.value for s in states]}")
            if time.monotonic() > deadline:
                pytest.fail(f"server {backend_id} did not reach {[s.value for s in states]} "
                            f"(states seen: {[s.value for s in seen]})")
            time.sleep(self.poll_interval)

    def active_server(self, driver: CheckedDriver, **changes: Any) -> str:
        backend_id = driver.build(self.request(**changes))
        self.wait_for(driver, backend_id, ServerState.ACTIVE, timeout=self.build_timeout)
        return backend_id

    def wait_gone(self, driver: CheckedDriver, backend_id: str) -> None:
        deadline = time.monotonic() + self.action_timeout
        while True:
            try:
                info = driver.get(backend_id)
            except NotFound:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"server {backend_id} still there after delete (state {info.state.value})")
            time.sleep(self.poll_interval)

    @staticmethod
    def require(driver: CheckedDriver, capability: Capability) -> None:
        if capability not in driver.capabilities:
            pytest.skip(f"{type(driver.driver).__name__} does not declare {capability.value}")

    def sample_arguments(self, method: str) -> dict[str, Any]:
        """Plausible arguments for any interface method (the server id is one that does not exist)."""
        samples: dict[str, Any] = {
            "backend_id": MISSING_ID, "hard": False, "flavor": self.other_flavor, "image": self.image,
            "admin_password": "Conformance-1", "image_name": "conformance-snapshot", "length": None,
            "volume_id": "conformance-volume", "device": None, "port_id": "conformance-port",
            "port": NetworkAttachment(port_id="conformance-port", network_id="conformance-net",
                                      network_name="conformance", mac_address="fa:16:3e:00:00:01",
                                      fixed_ips=("192.0.2.10",)),
            "group": ServerGroup(id="conformance-group", name="conformance", policy="anti-affinity"),
            "group_id": "conformance-group", "request": self.request(), "idempotency_key": "conformance-none",
            "zone": "nova", "backend_image_id": "conformance-missing-image", "backend_ids": [MISSING_ID],
            "console_type": "novnc", "snapshot_id": "conformance-snapshot", "new_file": "conformance.qcow2",
            "availability_zone": None, "host": None, "excluded_hosts": frozenset(),
        }
        params = list(inspect.signature(getattr(ComputeDriver, method)).parameters)[2:]  # self, ctx
        return {name: samples[name] for name in params}

    # -- the interface itself ----------------------------------------------------------------
    def test_is_a_compute_driver(self, compute_driver: ComputeDriver) -> None:
        assert isinstance(compute_driver, ComputeDriver)
        assert not inspect.isabstract(type(compute_driver))

    def test_every_call_takes_a_call_context(self) -> None:
        """The interface itself: every method a backend call goes through takes ``ctx`` first."""
        for name in interface_methods():
            if name == "close":
                continue
            params = list(inspect.signature(getattr(ComputeDriver, name)).parameters)
            assert params[:2] == ["self", "ctx"], f"ComputeDriver.{name}{params} does not take ctx first"

    def test_signatures_match_the_interface(self, compute_driver: ComputeDriver) -> None:
        problems = []
        for name in interface_methods():
            if not overridden(type(compute_driver), name):
                continue
            base = inspect.signature(getattr(ComputeDriver, name))
            mine = inspect.signature(getattr(type(compute_driver), name))
            base_params = list(base.parameters.values())
            my_params = list(mine.parameters.values())
            shape = [(p.name, p.kind, p.default) for p in base_params]
            if [(p.name, p.kind, p.default) for p in my_params[:len(base_params)]] != shape:
                problems.append(f"{name}{mine} differs from the interface's {name}{base}")
            elif any(p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                     for p in my_params[len(base_params):]):
                problems.append(f"{name}{mine} adds required parameters to {name}{base}")
        assert not problems, "signature drift:\n  " + "\n  ".join(problems)

    def test_capabilities_match_overridden_methods(self, compute_driver: ComputeDriver) -> None:
        caps = compute_driver.capabilities
        assert isinstance(caps, (frozenset, set)), "capabilities must be a frozenset of Capability"
        assert all(isinstance(c, Capability) for c in caps), f"not all Capability members: {caps!r}"
        problems = []
        for capability, methods in CAPABILITY_METHODS.items():
            for method in methods:
                has = overridden(type(compute_driver), method)
                if capability in caps and not has:
                    problems.append(f"declares {capability.value} but does not implement {method}()")
                if capability not in caps and has:
                    problems.append(f"implements {method}() but does not declare {capability.value}")
        assert not problems, f"{type(compute_driver).__name__}: " + "; ".join(problems)

    def test_unsupported_capabilities_raise_not_supported(self, driver: CheckedDriver) -> None:
        missing = [c for c in Capability if c not in driver.capabilities]
        if not missing:
            pytest.skip("the driver declares every capability")
        for capability in missing:
            for method in CAPABILITY_METHODS[capability]:
                with pytest.raises(NotSupported):
                    getattr(driver, method)(**self.sample_arguments(method))

    def test_headroom_as_declared(self, driver: CheckedDriver) -> None:
        """``reports_headroom``: :meth:`headroom` tells the backend's own quotas in Nova's names
        (decision 0046); a driver that does not declare it raises ``NotSupported``."""
        assert_headroom(driver.driver.reports_headroom, driver.headroom,
                        {"instances", "cores", "ram", "server_groups"}, "instances")

    # -- lifecycle ---------------------------------------------------------------------------
    def test_build_returns_an_id_and_reaches_active(self, driver: CheckedDriver) -> None:
        request = self.request()
        backend_id = driver.build(request)
        assert isinstance(backend_id, str) and backend_id, f"build() returned {backend_id!r}"
        info = self.wait_for(driver, backend_id, ServerState.ACTIVE, timeout=self.build_timeout)
        assert info.backend_id == backend_id
        assert info.name == request.name
        assert info.power_state is PowerState.RUNNING
        assert info.idempotency_key in (None, request.idempotency_key)

    def test_build_is_idempotent(self, driver: CheckedDriver) -> None:
        request = self.request()
        first = driver.build(request)
        again = driver.build(request)
        assert again == first, "a second build with the same idempotency key made another server"
        other = driver.build(self.request())
        assert other != first
        ids = [s.backend_id for s in driver.list()]
        assert ids.count(first) == 1

    def test_a_retry_finds_what_a_first_attempt_built(self, driver: CheckedDriver) -> None:
        """``first_attempt`` may spare a lookup; the build it makes is still found by the next attempt."""
        request = self.request(first_attempt=True)
        first = driver.build(request)
        again = driver.build(dataclasses.replace(request, first_attempt=False))
        assert again == first, "a retried build did not find the server its first attempt made"
        assert [s.backend_id for s in driver.list()].count(first) == 1

    def test_find_by_idempotency_key(self, driver: CheckedDriver) -> None:
        request = self.request()
        backend_id = driver.build(request)
        found = driver.find(request.idempotency_key)
        assert found is not None and found.backend_id == backend_id
        assert driver.find(f"never-used-{uuid.uuid4().hex}") is None

    def test_find_is_one_lookup(self, driver: CheckedDriver, monkeypatch: pytest.MonkeyPatch) -> None:
        """``find`` asks for the one server (a client token or a tag), it never lists them all."""
        request = self.request()
        assert_find_is_one_lookup(driver, monkeypatch, request.idempotency_key, driver.build(request), "server")

    def test_get_many(self, driver: CheckedDriver) -> None:
        """Several servers in one call, by backend id; an unknown id is left out, not an error."""
        built = [self.active_server(driver) for _ in range(2)]
        found = driver.get_many([*built, MISSING_ID])
        assert isinstance(found, dict) and set(found) == set(built), found
        assert all(isinstance(info, ServerInfo) and info.backend_id == key for key, info in found.items())
        assert driver.get_many([]) == {}

    def test_records_carry_an_extra_mapping(self, driver: CheckedDriver) -> None:
        info = driver.get(self.active_server(driver))
        assert isinstance(info.extra, Mapping)

    def test_get_missing_raises_not_found(self, driver: CheckedDriver) -> None:
        with pytest.raises(NotFound):
            driver.get(MISSING_ID)
        with pytest.raises(NotFound):
            driver.status(MISSING_ID)

    def test_status_agrees_with_get(self, driver: CheckedDriver) -> None:
        backend_id = self.active_server(driver)
        assert driver.status(backend_id) is ServerState.ACTIVE

    #: servers the list test builds: more than a small provider page, so a driver that returns
    #: only the first page of a paged API fails (a subclass for a provider with a larger page size
    #: should raise it past that size)
    list_count = 3

    def test_list_includes_built_servers(self, driver: CheckedDriver) -> None:
        """``list`` returns every server (every page of a paged provider API)."""
        built = {driver.build(self.request()) for _ in range(self.list_count)}
        listed = driver.list()
        assert all(isinstance(s, ServerInfo) for s in listed)
        assert built <= {s.backend_id for s in listed}

    def test_delete_then_get_raises_not_found(self, driver: CheckedDriver) -> None:
        backend_id = self.active_server(driver)
        assert driver.delete(backend_id) is None
        self.wait_gone(driver, backend_id)
        assert backend_id not in {s.backend_id for s in driver.list()}

    def test_delete_missing_succeeds(self, driver: CheckedDriver) -> None:
        driver.delete(MISSING_ID)
        backend_id = self.active_server(driver)
        driver.delete(backend_id)
        self.wait_gone(driver, backend_id)
        driver.delete(backend_id)  # twice

    def test_delete_while_building_succeeds(self, driver: CheckedDriver) -> None:
        backend_id = driver.build(self.request())
        driver.delete(backend_id)
        self.wait_gone(driver, backend_id)

    # -- what the backend offers -------------------------------------------------------------
    def test_offers_records(self, driver: CheckedDriver) -> None:
        assert all(isinstance(f, Flavor) for f in driver.flavors())
        assert all(isinstance(i, Image) for i in driver.images())
        zones = driver.zones()
        assert zones and all(isinstance(z, Zone) for z in zones), "a driver offers at least one zone"

    def test_validate_zone(self, driver: CheckedDriver) -> None:
        for zone in driver.zones():
            driver.validate_zone(zone.name)
        from overcast.drivers.errors import InvalidRequest

        with pytest.raises(InvalidRequest):
            driver.validate_zone(f"no-such-zone-{uuid.uuid4().hex[:6]}")
        driver.validate_flavor(self.flavor)

    def test_build_in_a_zone(self, driver: CheckedDriver) -> None:
        zone = driver.zones()[0].name
        info = driver.get(self.active_server(driver, availability_zone=zone))
        assert info.availability_zone in (None, zone)

    # -- actions -----------------------------------------------------------------------------
    def test_actions_on_a_missing_server_raise_not_found(self, driver: CheckedDriver) -> None:
        for capability in driver.capabilities:
            for method in CAPABILITY_METHODS[capability]:
                args = self.sample_arguments(method)
                if "backend_id" not in args:
                    continue
                with pytest.raises(NotFound):
                    getattr(driver, method)(**args)

    def test_reboot(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.REBOOT)
        backend_id = self.active_server(driver)
        driver.reboot(backend_id)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)
        driver.reboot(backend_id, hard=True)
        assert self.wait_for(driver, backend_id, ServerState.ACTIVE).power_state is PowerState.RUNNING

    def test_stop_start(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.START_STOP)
        backend_id = self.active_server(driver)
        driver.stop(backend_id)
        assert self.wait_for(driver, backend_id, ServerState.STOPPED).power_state is PowerState.SHUTDOWN
        driver.start(backend_id)
        assert self.wait_for(driver, backend_id, ServerState.ACTIVE).power_state is PowerState.RUNNING

    def test_pause_unpause(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.PAUSE)
        backend_id = self.active_server(driver)
        driver.pause(backend_id)
        assert self.wait_for(driver, backend_id, ServerState.PAUSED).power_state is PowerState.PAUSED
        driver.unpause(backend_id)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)

    def test_suspend_resume(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.SUSPEND)
        backend_id = self.active_server(driver)
        driver.suspend(backend_id)
        assert self.wait_for(driver, backend_id, ServerState.SUSPENDED).power_state is PowerState.SUSPENDED
        driver.resume(backend_id)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)

    def test_resume_when_not_suspended_raises_not_suspended(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.SUSPEND)
        backend_id = self.active_server(driver)
        with pytest.raises(NotSuspended):
            driver.resume(backend_id)

    def test_resize_confirm(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.RESIZE)
        backend_id = self.active_server(driver)
        driver.resize(backend_id, self.other_flavor)
        info = self.wait_for(driver, backend_id, ServerState.RESIZED)
        assert info.flavor_id in (None, self.other_flavor.id)
        driver.confirm_resize(backend_id)
        info = self.wait_for(driver, backend_id, ServerState.ACTIVE)
        assert info.flavor_id in (None, self.other_flavor.id)

    def test_resize_revert(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.RESIZE)
        backend_id = self.active_server(driver)
        driver.resize(backend_id, self.other_flavor)
        self.wait_for(driver, backend_id, ServerState.RESIZED)
        driver.revert_resize(backend_id)
        info = self.wait_for(driver, backend_id, ServerState.ACTIVE)
        assert info.flavor_id in (None, self.flavor.id), "revert_resize keeps the old flavor"

    def test_rebuild(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.REBUILD)
        backend_id = self.active_server(driver)
        driver.rebuild(backend_id, self.image)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)
        driver.rebuild(backend_id, self.image, admin_password="Rebuilt-1")
        self.wait_for(driver, backend_id, ServerState.ACTIVE)

    def test_snapshot_returns_a_reference_to_a_backend_image(self, driver: CheckedDriver) -> None:
        """The backend keeps the image (``images`` lists it by its backend id); the same key gives
        the same image again (a resumed operation); ``delete_image`` removes it, twice is fine."""
        self.require(driver, Capability.SNAPSHOT)
        backend_id = self.active_server(driver)
        call = CallContext(project_id="conformance-project", idempotency_key=f"snap-{uuid.uuid4().hex}")
        ref = driver.snapshot(call, backend_id, "conformance-snapshot")
        assert isinstance(ref, ImageRef) and ref.backend_id, f"snapshot() returned {ref!r}, not an ImageRef"
        assert isinstance(ref.extra, Mapping)
        assert driver.snapshot(call, backend_id, "conformance-snapshot").backend_id == ref.backend_id
        self.wait_image_active(driver, ref)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)
        images = driver.images()
        assert ref.backend_id in {i.backend_id for i in images}, "images() does not list the snapshot"
        assert all(isinstance(i, Image) and i.backend_id for i in images)
        driver.delete_image(ref.backend_id)
        driver.delete_image(ref.backend_id)
        assert ref.backend_id not in {i.backend_id for i in driver.images()}

    def wait_image_active(self, driver: CheckedDriver, ref: ImageRef) -> ImageRef:
        """A snapshot that is not yet ``active`` (``queued``/``saving``: the backend saves it
        asynchronously) becomes active through ``get_image``, as the operation that made it polls."""
        deadline = time.monotonic() + self.action_timeout
        seen = [ref.status]
        while ref.status != "active":
            assert ref.status in ("queued", "saving", "uploading", "importing"), f"snapshot went {ref.status}"
            if time.monotonic() > deadline:
                pytest.fail(f"snapshot {ref.backend_id} not active (statuses seen: {seen})")
            time.sleep(self.poll_interval)
            ref = driver.get_image(ref.backend_id)
            assert isinstance(ref, ImageRef), f"get_image() returned {ref!r}, not an ImageRef"
            if ref.status != seen[-1]:
                seen.append(ref.status)
        return ref

    def test_console_output(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CONSOLE_OUTPUT)
        backend_id = self.active_server(driver)
        text = driver.console_output(backend_id)
        assert isinstance(text, str)
        tail = driver.console_output(backend_id, length=1)
        assert isinstance(tail, str) and len(tail.splitlines()) <= 1

    def test_rescue_unrescue(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.RESCUE)
        backend_id = self.active_server(driver)
        driver.rescue(backend_id, None, None)
        self.wait_for(driver, backend_id, ServerState.RESCUED)
        driver.unrescue(backend_id)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)
        driver.rescue(backend_id, self.image, "Rescue-1")
        self.wait_for(driver, backend_id, ServerState.RESCUED)

    def test_change_password(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CHANGE_PASSWORD)
        backend_id = self.active_server(driver)
        assert driver.change_password(backend_id, "Changed-1") is None
        self.wait_for(driver, backend_id, ServerState.ACTIVE)

    def test_shelve_unshelve(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.SHELVE)
        backend_id = self.active_server(driver)
        driver.shelve(backend_id)
        self.wait_for(driver, backend_id, ServerState.SHELVED)
        driver.unshelve(backend_id)
        self.wait_for(driver, backend_id, ServerState.ACTIVE)

    def attachable_volumes(self, driver: CheckedDriver, backend_id: str | None, count: int) -> list[str]:
        """Backend ids of ``count`` volumes the server ``backend_id`` may attach (``None``: volumes to
        boot a server from). Default: made-up ids (a backend that attaches whatever it is given); a
        subclass for a provider that attaches only volumes it holds (an upstream Nova, EC2) makes
        real ones there."""
        return [f"conformance-vol-{uuid.uuid4().hex[:8]}" for _ in range(count)]

    def test_volume_attach_detach(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.VOLUME_ATTACH)
        backend_id = self.active_server(driver)
        vol_1, vol_2 = self.attachable_volumes(driver, backend_id, 2)
        first = driver.attach_volume(backend_id, vol_1)
        assert driver.attach_volume(backend_id, vol_1) == first, "attach_volume again is not idempotent"
        second = driver.attach_volume(backend_id, vol_2)
        for attachment, volume in ((first, vol_1), (second, vol_2)):
            assert isinstance(attachment, VolumeAttachment)
            assert attachment.volume_id == volume
            assert attachment.device.startswith("/dev/"), attachment.device
        assert first.device != second.device
        driver.detach_volume(backend_id, vol_1)
        with pytest.raises(NotFound):
            driver.detach_volume(backend_id, vol_1)
        driver.detach_volume(backend_id, vol_2)

    def test_boot_from_volume(self, driver: CheckedDriver) -> None:
        """A server built with a root volume and no image holds that volume at /dev/vda."""
        self.require(driver, Capability.VOLUME_ATTACH)
        if not driver.boots_from_volume:
            pytest.skip(f"{type(driver.driver).__name__} boots only machine images (boots_from_volume = False)")
        root_id, data_id = self.attachable_volumes(driver, None, 2)
        root = BlockDevice(volume_id=root_id, device="/dev/vda", boot_index=0)
        backend_id = self.active_server(driver, image=None, block_devices=(root,))
        added = driver.attach_volume(backend_id, data_id)
        assert added.device.startswith("/dev/") and added.device != "/dev/vda", added.device
        driver.detach_volume(backend_id, data_id)
        try:  # Nova refuses to detach a root volume (400); a backend that allows it is fine too
            driver.detach_volume(backend_id, root_id)
        except (InvalidRequest, Conflict):
            pass

    def test_assisted_volume_overlays(self, driver: CheckedDriver) -> None:
        """Snapshots of an attached volume: create and delete are idempotent; a volume the server
        does not have is NotFound."""
        self.require(driver, Capability.VOLUME_SNAPSHOT)
        self.require(driver, Capability.VOLUME_ATTACH)
        backend_id = self.active_server(driver)
        attached, other = self.attachable_volumes(driver, backend_id, 2)
        driver.attach_volume(backend_id, attached)
        snapshot = f"conformance-snapshot-{uuid.uuid4().hex[:8]}"
        driver.volume_snapshot_create(backend_id, attached, snapshot, "conformance.qcow2")
        driver.volume_snapshot_create(backend_id, attached, snapshot, "conformance.qcow2")  # again: no change
        driver.volume_snapshot_delete(backend_id, attached, snapshot)
        driver.volume_snapshot_delete(backend_id, attached, snapshot)  # gone already: succeeds
        with pytest.raises(NotFound):
            driver.volume_snapshot_create(backend_id, other, snapshot, "conformance.qcow2")
        driver.detach_volume(backend_id, attached)

    def test_port_attach_detach(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.PORT_ATTACH)
        backend_id = self.active_server(driver)
        port = self.sample_arguments("attach_port")["port"]
        driver.attach_port(backend_id, port)
        info = self.wait_for(driver, backend_id, ServerState.ACTIVE)
        if info.networks:
            assert port.port_id in {n.port_id for n in info.networks}
        driver.detach_port(backend_id, port.port_id)
        info = self.wait_for(driver, backend_id, ServerState.ACTIVE)
        assert port.port_id not in {n.port_id for n in info.networks}

    def test_server_groups(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.SERVER_GROUPS)
        group = ServerGroup(id=str(uuid.uuid4()), name="conformance", policy="soft-anti-affinity")
        driver.create_server_group(group)
        self.active_server(driver, server_group=group)
        driver.delete_server_group(group.id)
        driver.delete_server_group(group.id)  # unknown: succeeds

    def test_diagnostics(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.DIAGNOSTICS)
        backend_id = self.active_server(driver)
        diagnostics = driver.diagnostics(backend_id)
        assert isinstance(diagnostics, Diagnostics)
        assert diagnostics.power_state is driver.get(backend_id).power_state

    def test_remote_console(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.REMOTE_CONSOLE)
        backend_id = self.active_server(driver)
        offered = []
        for console_type in ("novnc", "xvpvnc", "spice-html5", "rdp-html5", "serial", "webmks"):
            try:
                console = driver.remote_console(backend_id, console_type)
            except NotSupported:
                continue
            assert isinstance(console, RemoteConsole) and console.console_type == console_type
            assert console.url.split("://")[0] in ("http", "https", "ws", "wss"), console.url
            offered.append(console_type)
        assert offered, "declares remote_console but offers no console type"

    def test_wrong_state_is_conflict_or_accepted(self, driver: CheckedDriver) -> None:
        """An action from a state it does not apply to either works or raises Conflict, nothing else."""
        backend_id = self.active_server(driver)
        calls: list[tuple[Capability, Callable[[], object]]] = [
            (Capability.START_STOP, lambda: driver.start(backend_id)),
            (Capability.PAUSE, lambda: driver.unpause(backend_id)),
            (Capability.RESIZE, lambda: driver.confirm_resize(backend_id)),
            (Capability.RESIZE, lambda: driver.revert_resize(backend_id)),
            (Capability.RESCUE, lambda: driver.unrescue(backend_id)),
            (Capability.SHELVE, lambda: driver.unshelve(backend_id)),
        ]
        for capability, call in calls:
            if capability not in driver.capabilities:
                continue
            try:
                call()
            except Conflict:
                pass
            self.wait_for(driver, backend_id, ServerState.ACTIVE)
