"""Issue 17, item 4: with the local cloud's default timings a client that waits for REBOOT,
HARD_REBOOT, REBUILD, RESIZE or REVERT_RESIZE before it waits for the end state sees it (the
backend takes ``action_delay`` seconds, 2 by default, longer than a client's poll); the setting
at 0 finishes them at once (the shared test fixtures and the Tempest runner use it)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from overcast.drivers.compute import BuildRequest, Flavor, Image, ServerState
from overcast.drivers.context import CallContext
from overcast.drivers.local.driver import ACTION_DELAY, LocalComputeDriver, create_driver
from tests.compute.conftest import OTHER_IMAGE_ID

#: how often a client polls in these tests (openstacksdk's default wait interval is 2 s, Tempest's 1 s)
POLL = 0.05


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - the shared settings with the local cloud's own defaults
    return dataclasses.replace(settings, clouds=tuple(
        dataclasses.replace(c, options={k: v for k, v in c.options.items() if k != "action_delay"})
        for c in settings.clouds))


def _seen(nova, server_id: str, transitional: str, end: str, timeout: float = 15.0) -> tuple[float, list[str]]:  # noqa: ANN001
    """Poll from the 202 until the server is in ``end`` with no task; returns how long the
    server showed ``transitional`` (from the 202) and every status seen, in order."""
    started = time.monotonic()
    deadline = started + timeout
    seen: list[str] = []
    left_at = None
    while time.monotonic() < deadline:
        server = nova.req("GET", f"/servers/{server_id}").json["server"]
        status = server["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status != transitional and left_at is None:
            left_at = time.monotonic()
        if status == end and server["OS-EXT-STS:task_state"] is None:
            return (left_at or time.monotonic()) - started, seen
        time.sleep(POLL)  # a client's poll interval, not a wait for the result
    raise AssertionError(f"server {server_id} never reached {end}: {seen}")


def test_default_keeps_each_transitional_state_visible(nova, tmp_path):
    default = create_driver({}, tmp_path).compute
    assert default.action_delay == ACTION_DELAY >= 2.0
    default.close()
    server_id = nova.create("transitions").json["server"]["id"]
    for body, transitional, end in (
            ({"reboot": {"type": "SOFT"}}, "REBOOT", "ACTIVE"),
            ({"reboot": {"type": "HARD"}}, "HARD_REBOOT", "ACTIVE"),
            ({"rebuild": {"imageRef": OTHER_IMAGE_ID}}, "REBUILD", "ACTIVE"),
            ({"resize": {"flavorRef": "2"}}, "RESIZE", "VERIFY_RESIZE"),
            ({"revertResize": None}, "REVERT_RESIZE", "ACTIVE")):
        resp = nova.action(server_id, body)
        assert resp.status_code == 202, resp.text
        shown, seen = _seen(nova, server_id, transitional, end)
        assert seen == [transitional, end], (body, seen)
        # the backend settles action_delay after it was called, and it is called after the 202
        assert shown >= ACTION_DELAY, (body, shown)


def test_zero_finishes_at_once(tmp_path):
    """At ``action_delay`` 0 the backend is settled as soon as the call returns."""
    now = [1000.0]
    driver = LocalComputeDriver(tmp_path / "c.db", action_delay=0, clock=lambda: now[0])
    delayed = LocalComputeDriver(tmp_path / "d.db", action_delay=2.5, clock=lambda: now[0])
    ctx = CallContext()
    flavor, other = Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1), \
        Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
    image = Image(id="i", name="cirros")
    for d in (driver, delayed):
        d.build(ctx, BuildRequest(name="vm", flavor=flavor, image=image, idempotency_key=f"k-{id(d)}"))
    [fast], [slow] = driver.list(ctx), delayed.list(ctx)
    for call, settled in ((lambda d, b: d.reboot(ctx, b), ServerState.ACTIVE),
                          (lambda d, b: d.reboot(ctx, b, hard=True), ServerState.ACTIVE),
                          (lambda d, b: d.rebuild(ctx, b, image), ServerState.ACTIVE),
                          (lambda d, b: d.resize(ctx, b, other), ServerState.RESIZED),
                          (lambda d, b: d.revert_resize(ctx, b), ServerState.ACTIVE)):
        call(driver, fast.backend_id)
        assert driver.get(ctx, fast.backend_id).state is settled
        call(delayed, slow.backend_id)
        assert delayed.get(ctx, slow.backend_id).state is ServerState.BUILDING
        assert delayed.get_many(ctx, [slow.backend_id])[slow.backend_id].state is ServerState.BUILDING
        assert [s.state for s in delayed.list(ctx)] == [ServerState.BUILDING]
        now[0] += 2.5
        assert delayed.get(ctx, slow.backend_id).state is settled
    # an action asked again mid-transition (a resumed operation) is judged on the settled state
    delayed.reboot(ctx, slow.backend_id)
    delayed.reboot(ctx, slow.backend_id)
    delayed.delete(ctx, slow.backend_id)
    assert delayed.list(ctx) == []
    driver.close()
    delayed.close()
