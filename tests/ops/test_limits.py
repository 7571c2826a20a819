"""Per-cloud limits: [ops] and [clouds.NAME.ops] settings, breakers per (cloud, family) with the
backend's Retry-After, deletes that wait behind an open breaker, the rate limit, and backend reads
made from a request (call_backend)."""

from __future__ import annotations

import threading
import time

import falcon
import pytest

from overcast.config import CloudOpsSettings, ConfigError, OpsSettings, load_settings
from overcast.drivers.errors import NotFound, Unavailable
from overcast.ops import (Backends, BackendUnavailable, Breakers, CircuitBreaker, RateLimited, Registry, WorkerPool,
                          call_backend, done, enqueue, guard_driver, wait_for)
from overcast.ops.breaker import CLOSED, HALF_OPEN, OPEN
from overcast.ops.calls import TokenBucket
from overcast.ops.engine import is_delete

FAST = dict(threads=1, poll_interval=0.02, backoff_base=0.01, backoff_max=0.02, lease_seconds=2)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def add(store, kind="test.op", cloud="RegionOne", **kwargs) -> str:  # noqa: ANN001
    with store.session() as session:
        return enqueue(session, kind=kind, cloud=cloud, resource_type="server", resource_id="srv-1", **kwargs).id


# -- configuration ---------------------------------------------------------------------------------


def test_ops_section_and_per_cloud_ops_tables(tmp_path):
    config = tmp_path / "overcast.toml"
    config.write_text("""
[ops]
threads = 2
lease_seconds = 4.5
serve_workers = false
[clouds.RegionOne]
driver = "local"
[clouds.aws]
driver = "noop"
region = "us-east-1"
[clouds.aws.ops]
timeout = 20
attempts = 3
breaker_threshold = 2
breaker_reset_seconds = 90
rate_limit = 5
rate_burst = 10
""")
    settings = load_settings(config, data_dir=tmp_path, environ={"OVERCAST_OPS_MAX_ATTEMPTS": "7"})
    assert (settings.ops.threads, settings.ops.lease_seconds, settings.ops.serve_workers,
            settings.ops.max_attempts) == (2, 4.5, False, 7)
    local, aws = settings.clouds
    assert local.ops == CloudOpsSettings()
    assert aws.options == {"region": "us-east-1"}  # the driver never sees the ops table
    assert aws.ops == CloudOpsSettings(timeout=20.0, attempts=3, breaker_threshold=2, breaker_reset_seconds=90.0,
                                       rate_limit=5.0, rate_burst=10)
    backends = Backends.from_settings(settings)
    assert backends.limits("aws").attempts == 3 and backends.limits("RegionOne").attempts == 7
    assert backends.breakers("aws", "compute").threshold == 2
    assert backends.breakers("aws", "compute").reset_seconds == 90
    assert backends.breakers("RegionOne").threshold == 5
    assert backends.bucket("aws").burst == 10 and backends.bucket("RegionOne") is None


@pytest.mark.parametrize("body, message", [
    ("[clouds.x.ops]\ntimout = 1\n", "timout"),
    ("[clouds.x.ops]\nattempts = 0\n", "attempts"),
    ("[clouds.x.ops]\nrate_limit = -1\n", "rate_limit"),
    ("[clouds.x]\nops = 3\n", "must be a table"),
    ("[ops]\nthreadz = 1\n", "threadz"),
])
def test_bad_ops_settings_are_config_errors(tmp_path, body, message):
    config = tmp_path / "overcast.toml"
    config.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


# -- breakers ---------------------------------------------------------------------------------------


def test_breakers_are_per_cloud_and_family():
    breakers = Breakers(threshold=1, reset_seconds=60)
    breakers("aws", "volume").record_failure()
    assert breakers("aws", "volume").state == OPEN
    assert breakers("aws", "compute").state == CLOSED  # a failing volume API does not stop builds
    assert breakers("aws").state == CLOSED  # handlers with no family share the cloud's own breaker
    assert breakers.states() == {"aws/volume": OPEN, "aws/compute": CLOSED, "aws": CLOSED}


def test_a_longer_retry_after_keeps_the_breaker_open_that_long():
    clock = Clock()
    breaker = CircuitBreaker("aws", threshold=1, reset_seconds=10, clock=clock)
    breaker.record_failure(retry_after=60)
    clock.now = 30
    assert breaker.state == OPEN and breaker.retry_in() == 30
    clock.now = 60
    assert breaker.state == HALF_OPEN
    breaker.record_failure(retry_after=2)  # shorter than reset_seconds: reset_seconds wins
    clock.now = 69
    assert breaker.state == OPEN
    clock.now = 70
    assert breaker.state == HALF_OPEN


def test_the_engine_keeps_a_family_breaker_open_for_the_backends_retry_after(store):
    registry = Registry()
    registry.register("vol.op", lambda job, ctx: (_ for _ in ()).throw(Unavailable("slow down", retry_after=120)),
                      family="volume")
    registry.register("srv.op", lambda job, ctx: done(), family="compute")
    settings = OpsSettings(**FAST, breaker_threshold=1, breaker_reset_seconds=1)
    with WorkerPool(store, registry, settings) as pool:
        failed = wait_for(store, add(store, kind="vol.op", max_attempts=1), timeout=20)
        assert failed.state == "failed"
        assert pool.breakers("RegionOne", "volume").state == OPEN
        assert pool.breakers("RegionOne", "volume").retry_in() > 100  # the backend's 120 s, not 1 s
        assert wait_for(store, add(store, kind="srv.op"), timeout=20).state == "succeeded"


def test_deletes_wait_behind_an_open_breaker_by_default():
    registry = Registry()
    registry.register("thing.delete", lambda job, ctx: done())
    registry.register("thing.create", lambda job, ctx: done())
    registry.register("other.delete", lambda job, ctx: done(), when_open="fail")
    assert registry.get("thing.delete").when_open == "defer"
    assert registry.get("thing.create").when_open == "fail"
    assert registry.get("other.delete").when_open == "fail"  # a kind may still say otherwise
    assert is_delete("port.delete") and not is_delete("server.deleted_restore")


def test_every_delete_kind_of_every_service_defers(cloud):
    """The rule holds for the handlers the services register (server, volume, snapshot, group...)."""
    from overcast.app import build_operations

    runtime = build_operations(cloud.app.compute)
    deletes = [kind for kind in runtime.registry.kinds if is_delete(kind)]
    assert "server.delete" in deletes and "volume.delete" in deletes
    assert {kind: runtime.registry.get(kind).when_open for kind in deletes} == {kind: "defer" for kind in deletes}


def test_a_deferred_delete_runs_once_the_breaker_closes(store):
    calls = []
    registry = Registry()
    registry.register("thing.delete", lambda job, ctx: calls.append(job.id) or done(), family="compute")
    settings = OpsSettings(**FAST, breaker_threshold=1, breaker_reset_seconds=0.5)
    with WorkerPool(store, registry, settings) as pool:
        pool.breakers("RegionOne", "compute").record_failure()
        op_id = add(store, kind="thing.delete", max_attempts=1)
        op = wait_for(store, op_id, timeout=20)
    assert (op.state, op.attempts) == ("succeeded", 1)
    assert calls == [op_id]


# -- the rate limit ---------------------------------------------------------------------------------


def test_token_bucket_waits_then_refuses_past_the_bound():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock)
    slept = []
    assert bucket.acquire(1.0, sleep=slept.append) == 0
    assert bucket.acquire(1.0, sleep=slept.append) == 0
    assert bucket.acquire(1.0, sleep=slept.append) == pytest.approx(0.5)  # the third waits for a refill
    assert slept == [pytest.approx(0.5)]
    with pytest.raises(RateLimited) as info:
        bucket.acquire(0.5)  # it would need 1.0 s: refused, and nothing taken
    assert info.value.retry_after == pytest.approx(1.0)
    clock.now = 1.0
    assert bucket.acquire(0.0) == 0


class FakeDriver:
    capabilities = frozenset({"x"})

    def __init__(self) -> None:
        self.calls: list[float] = []

    def build(self, name: str) -> str:
        self.calls.append(time.monotonic())
        return self.helper(name)

    def helper(self, name: str) -> str:  # called from inside build: not a second driver call
        return f"b-{name}"


def test_guarded_driver_calls_wait_for_a_token_and_nested_calls_do_not_count():
    backends = Backends(OpsSettings(), {"aws": CloudOpsSettings(rate_limit=20, rate_burst=1)})
    driver = guard_driver(FakeDriver(), backends, "aws", "compute")
    assert isinstance(driver, FakeDriver) and driver.capabilities == frozenset({"x"})
    started = time.monotonic()
    assert [driver.build(str(i)) for i in range(6)] == [f"b-{i}" for i in range(6)]
    assert time.monotonic() - started >= 0.2  # 5 waits of 1/20 s; none failed
    assert guard_driver(driver, backends, "aws", "compute") is driver  # idempotent


def test_a_method_replaced_on_the_class_after_guarding_is_the_one_called(monkeypatch):
    driver = guard_driver(FakeDriver(), Backends(), "RegionOne", "compute")
    monkeypatch.setattr(FakeDriver, "build", lambda self, name: f"patched-{name}")
    assert driver.build("x") == "patched-x"


def test_a_rate_limited_operation_is_rescheduled_without_spending_an_attempt(store):
    settings = OpsSettings(**{**FAST, "threads": 2}, rate_limit_wait=0.0)
    backends = Backends(settings, {"RegionOne": CloudOpsSettings(rate_limit=4, rate_burst=1)})
    driver = guard_driver(FakeDriver(), backends, "RegionOne", "compute")
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done({"b": driver.build(job.id)}))
    with WorkerPool(store, registry, settings, backends=backends):
        ids = [add(store, max_attempts=1) for _ in range(4)]
        ops = [wait_for(store, op_id, timeout=30) for op_id in ids]
    assert [(op.state, op.attempts) for op in ops] == [("succeeded", 1)] * 4
    assert len(driver.calls) == 4
    gaps = [b - a for a, b in zip(sorted(driver.calls), sorted(driver.calls)[1:])]
    assert min(gaps) >= 0.2  # 4 calls a second, never faster


# -- per-cloud timeout and attempts in the engine ---------------------------------------------------


def test_a_clouds_timeout_and_attempts_win_over_the_kinds(store):
    release = threading.Event()
    registry = Registry()
    registry.register("slow.op", lambda job, ctx: release.wait(10) and done(), timeout=30)
    registry.register("flaky.op", lambda job, ctx: (_ for _ in ()).throw(Unavailable("down")))
    settings = OpsSettings(**{**FAST, "threads": 2}, breaker_threshold=100)
    backends = Backends(settings, {"tight": CloudOpsSettings(timeout=0.3, attempts=2)})
    try:
        with WorkerPool(store, registry, settings, backends=backends):
            slow = wait_for(store, add(store, kind="slow.op", cloud="tight", max_attempts=1), timeout=20)
            tight = wait_for(store, add(store, kind="flaky.op", cloud="tight"), timeout=20)
            default = wait_for(store, add(store, kind="flaky.op", cloud="RegionOne"), timeout=20)
    finally:
        release.set()
    assert (slow.state, slow.error_kind) == ("failed", "OperationTimeout")
    assert "within 0.3s" in slow.error
    assert (tight.state, tight.attempts) == ("failed", 2) and tight.error.endswith("(gave up after 2 attempts)")
    assert (default.state, default.attempts) == ("failed", 5)


def test_configured_max_attempts_applies_to_operations_already_queued(store):
    registry = Registry()
    registry.register("flaky.op", lambda job, ctx: (_ for _ in ()).throw(Unavailable("down")))
    op_id = add(store, kind="flaky.op")  # enqueued before the workers' configuration is known
    with WorkerPool(store, registry, OpsSettings(**FAST, max_attempts=3, breaker_threshold=100)):
        op = wait_for(store, op_id, timeout=20)
    assert (op.state, op.attempts) == ("failed", 3)


# -- backend reads from a request -------------------------------------------------------------------


def test_call_backend_passes_results_and_driver_faults_through():
    backends = Backends(OpsSettings(breaker_threshold=1))
    assert call_backend(backends, "RegionOne", "compute", lambda: "console text") == "console text"
    with pytest.raises(NotFound):
        call_backend(backends, "RegionOne", "compute", lambda: (_ for _ in ()).throw(NotFound("gone")))
    assert backends.breakers("RegionOne", "compute").state == CLOSED  # the backend answered


def test_call_backend_fails_fast_on_timeout_unavailable_and_an_open_breaker():
    backends = Backends(OpsSettings(breaker_threshold=1, breaker_reset_seconds=30))
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "RegionOne", "compute", lambda: release.wait(60), timeout=0.2)
    release.set()
    assert time.monotonic() - started < 30  # did not wait for the driver's 60 s
    assert info.value.status == 503 and "did not answer within 0.2s" in info.value.message
    assert info.value.retry_after >= 1
    assert backends.breakers("RegionOne", "compute").state == OPEN
    called = []
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "RegionOne", "compute", lambda: called.append(1))
    assert called == []  # open: the driver is not called
    assert 25 < info.value.retry_after <= 30
    # the family's breaker only: the cloud's volume reads still go
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "RegionOne", "volume", lambda: (_ for _ in ()).throw(Unavailable("503", retry_after=42)))
    assert info.value.retry_after == 42


def test_call_backend_names_the_backend_as_the_caller_says():
    """A region's backend by default; a label (the CDN's "the CDN provider NAME") otherwise, in every
    message: unavailable, busy, and breaker open."""
    backends = Backends(OpsSettings(breaker_threshold=1, breaker_reset_seconds=30))
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "RegionOne", "compute", lambda: (_ for _ in ()).throw(Unavailable("503")))
    assert info.value.message == "The backend of region RegionOne is unavailable: 503"
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "cf", "cdn", lambda: (_ for _ in ()).throw(Unavailable("503")),
                     label="the CDN provider cf")
    assert info.value.message == "The CDN provider cf is unavailable: 503"
    with pytest.raises(BackendUnavailable) as info:
        call_backend(backends, "cf", "cdn", lambda: "not called", label="the CDN provider cf")
    assert info.value.message.startswith("The CDN provider cf is unavailable (circuit breaker open); retry in ")


def test_call_backend_uses_the_clouds_timeout():
    backends = Backends(OpsSettings(), {"slow": CloudOpsSettings(timeout=0.2)})
    release = threading.Event()
    with pytest.raises(BackendUnavailable, match="within 0.2s"):
        call_backend(backends, "slow", "compute", lambda: release.wait(10), timeout=5)
    release.set()


def test_the_api_answers_backend_unavailable_as_503_with_retry_after(cloud, admin_token):
    app = cloud.app

    class Console:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            call_backend(app.compute.backends, "RegionOne", "compute",
                         lambda: (_ for _ in ()).throw(Unavailable("maintenance", retry_after=7)))

    app.add_route("/compute/v2.1/_test_console", Console())
    resp = cloud.request("GET", "/compute/v2.1/_test_console", admin_token)
    assert resp.status_code == 503, resp.text
    assert resp.headers["Retry-After"] == "7"
    assert "maintenance" in resp.text


# -- [ops] reaches `overcast worker` and `overcast serve` --------------------------------------------


def test_overcast_worker_runs_with_the_ops_section_of_the_config(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import overcast.ops.cli
    from overcast.cli import main

    for name in [n for n in __import__("os").environ if n.startswith("OVERCAST_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "overcast.toml"
    config.write_text("[ops]\nthreads = 3\nlease_seconds = 9\nmax_attempts = 2\nreconcile_interval = 5\n"
                      "[clouds.RegionOne]\ndriver = \"local\"\n[clouds.RegionOne.ops]\nrate_limit = 7\n")
    seen = {}

    def fake_run(runtime, *, reconcile=True):  # noqa: ANN001, ANN202
        seen.update(threads=runtime.pool.threads, lease=runtime.pool.heartbeat.lease_seconds,
                    attempts=runtime.backends.limits("RegionOne").attempts,
                    rate=runtime.backends.bucket("RegionOne").rate, interval=runtime.reconciler.interval,
                    reconcile=reconcile)

    monkeypatch.setattr(overcast.ops.cli, "run_until_signalled", fake_run)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "worker", "--config", str(config),
                                       "--no-reconcile"])
    assert result.exit_code == 0, result.output
    assert seen == {"threads": 3, "lease": 9.0, "attempts": 2, "rate": 7.0, "interval": 5.0, "reconcile": False}
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--config", str(config), "worker",
                                       "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert seen["threads"] == 1


def test_overcast_serve_processes_run_workers_unless_serve_workers_is_false(tmp_path, monkeypatch):
    import overcast.app
    import overcast.wsgi

    for name in [n for n in __import__("os").environ if n.startswith("OVERCAST_")]:
        monkeypatch.delenv(name)
    started = []
    real = overcast.app.build_operations

    def spy(compute, ops=None, cdn=None):  # noqa: ANN001, ANN202
        runtime = real(compute, ops, cdn)
        started.append(runtime)
        runtime.start = lambda **kw: runtime  # not started: only its settings are checked
        return runtime

    monkeypatch.setattr(overcast.wsgi, "build_operations", spy)
    monkeypatch.setenv("OVERCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OVERCAST_OPS_THREADS", "2")
    from overcast.bootstrap import bootstrap
    from overcast.config import load_settings as load

    bootstrap(load())
    overcast.wsgi.application()
    assert [r.pool.threads for r in started] == [2]
    monkeypatch.setenv("OVERCAST_OPS_SERVE_WORKERS", "false")
    overcast.wsgi.application()
    assert len(started) == 1  # an API-only node: no workers in this process
