"""Nothing leaked (issue 16 §7, §8; decisions 0027, 0029): tokens are masked wherever a log line
would carry them; an admin password leaves its operation once used; the data directory and every
file in it are private to the user running Overcast."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from overcast.app import build_operations
from overcast.cli import main
from overcast.ops.models import Operation
from overcast.redact import mask
from world import World

NOVA = {"OpenStack-API-Version": "compute 2.90"}


def test_v2_token_paths_are_logged_without_the_token(world: World) -> None:
    """``GET``/``HEAD /v2.0/tokens/{token}`` and ``/endpoints`` put a live token in the path."""
    subject = world.fresh("member")
    for method, path in (("GET", f"/identity/v2.0/tokens/{subject}"), ("HEAD", f"/identity/v2.0/tokens/{subject}"),
                         ("GET", f"/identity/v2.0/tokens/{subject}/endpoints"),
                         ("GET", f"/identity/v2.0/tokens/{subject}?belongsTo={world.ids['project']}")):
        assert world.request(method, path, world.admin).status_code < 500
    logged = "\n".join(world.recorder.lines)
    assert subject not in logged and world.admin not in logged
    assert '"GET /identity/v2.0/tokens/***/endpoints" status: 200' in logged


def test_tokens_in_messages_and_tracebacks_are_masked(world: World) -> None:
    token = world.fresh("reader")
    log = logging.getLogger("overcast.drill")
    log.warning("request headers: %s", {"X-Auth-Token": token, "X-Subject-Token": token})
    try:
        raise RuntimeError(f"could not validate {token}")
    except RuntimeError:
        log.exception("failed for GET /v3/auth/tokens?token=%s", "abc")
    logged = "\n".join(world.recorder.lines)
    assert token not in logged and "token=abc" not in logged and "could not validate ***" in logged


@pytest.mark.parametrize("text, masked", [
    ('"GET /identity/v2.0/tokens/not-a-fernet-token HTTP/1.1"', '"GET /identity/v2.0/tokens/*** HTTP/1.1"'),
    ("X-Auth-Token: abc.def", "X-Auth-Token: ***"),
    ("{'password': 'hunter2', 'name': 'x'}", "{'password': '***', 'name': 'x'}"),
    ('{"adminPass": "s3cret", "original_password": "old"}', '{"adminPass": "***", "original_password": "***"}'),
    ("/v3/ec2tokens?signature=abc&access=1", "/v3/ec2tokens?signature=***&access=1"),
    ('Authorization: OAuth oauth_consumer_key="ck", oauth_token="t1", oauth_signature="s1"', "Authorization: ***"),
    ("{'Authorization': 'OAuth oauth_token=\"t1\"'}", "{'Authorization': '***'}"),
    ('oauth_token="t1", oauth_verifier="v1"', 'oauth_token="***", oauth_verifier="***"'),
    ("oauth_token=t1&oauth_token_secret=s1&oauth_expires_at=x", "oauth_token=***&oauth_token_secret=***&oauth_expires_at=x"),
    ("nothing secret here", "nothing secret here"),
])
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


def _wait(world: World, server: str, status: str) -> None:
    def settled() -> bool:
        shown = world.ok("GET", f"/compute/v2.1/servers/{server}", world.token("member"), headers=NOVA)["server"]
        return shown["status"] == status and shown["OS-EXT-STS:task_state"] is None
    world.wait(f"server {status}", settled)


def test_admin_passwords_leave_the_operations_once_used(world: World) -> None:
    member = world.token("member")
    secrets = {"create": "drill-Create-Pass1", "changePassword": "drill-Change-Pass1",
               "rebuild": "drill-Rebuild-Pass1", "rescue": "drill-Rescue-Pass1"}
    runtime = build_operations(world.compute).start(reconcile=False)
    try:
        server = world.ok("POST", "/compute/v2.1/servers", member, headers=NOVA, json_body={"server": {
            "name": "drill-pass", "flavorRef": world.ids["flavor"], "imageRef": world.ids["cirros"],
            "networks": "none", "adminPass": secrets["create"]}})["server"]["id"]
        _wait(world, server, "ACTIVE")
        for _action, body, status in (
                ("changePassword", {"changePassword": {"adminPass": secrets["changePassword"]}}, "ACTIVE"),
                ("rebuild", {"rebuild": {"imageRef": world.ids["cirros"], "adminPass": secrets["rebuild"]}},
                 "ACTIVE"),
                ("rescue", {"rescue": {"adminPass": secrets["rescue"]}}, "RESCUE")):
            world.ok("POST", f"/compute/v2.1/servers/{server}/action", member, headers=NOVA, json_body=body)
            _wait(world, server, status)
        deadline = time.monotonic() + 30
        while True:
            with world.identity.store.session() as session:
                ops = list(session.scalars(select(Operation).where(Operation.resource_id == server)))
            if all(op.state in ("succeeded", "failed", "cancelled") for op in ops) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        runtime.stop()
    assert {op.action for op in ops} >= {"create", "changePassword", "rebuild", "rescue"}
    assert all(op.state == "succeeded" for op in ops), [(op.action, op.state, op.error) for op in ops]
    stored = json.dumps([op.params for op in ops])
    for action, password in secrets.items():
        assert password not in stored, f"the {action} password is still in its operation's params"
    assert "admin_password" not in stored


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)) or ".": stat.S_IMODE(p.lstat().st_mode)
            for p in [root, *root.rglob("*")] if not p.is_symlink()}


@pytest.fixture
def restore_umask():  # noqa: ANN201
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_the_data_directory_is_private(tmp_path: Path, restore_umask, monkeypatch) -> None:  # noqa: ANN001
    for name in list(os.environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    os.umask(0o022)  # a usual shell's
    data = tmp_path / "fresh"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "bootstrap"])
    assert result.exit_code == 0, result.output
    modes = _modes(data)
    assert modes["."] == 0o700
    assert any(name.startswith("overcast.db") for name in modes)
    assert any(name.startswith("fernet-keys/") for name in modes)
    loose = {name: oct(mode) for name, mode in modes.items()
             if mode & 0o077 or (mode != 0o700 and (data / name).is_dir())}
    assert not loose, f"not private: {loose}"


def test_an_older_installs_data_directory_is_tightened(tmp_path: Path, restore_umask, monkeypatch) -> None:  # noqa: ANN001
    for name in list(os.environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    os.umask(0o022)
    data = tmp_path / "old"
    assert CliRunner().invoke(main, ["--data-dir", str(data), "bootstrap"]).exit_code == 0
    data.chmod(0o755)
    for path in data.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    os.umask(0o022)
    assert CliRunner().invoke(main, ["--data-dir", str(data), "clouds-yaml"]).exit_code == 0
    loose = {name: oct(mode) for name, mode in _modes(data).items() if mode & 0o077}
    assert not loose, f"not tightened: {loose}"


def test_a_cancelled_operation_drops_its_secret_params(world: World) -> None:
    from overcast.ops.engine import cancel, enqueue

    with world.identity.store.session() as session:
        op = enqueue(session, kind="drill", cloud="RegionOne", resource_type="server", resource_id="drill",
                     params={"admin_password": "drill-Cancel-Pass1", "keep": 1}, secret_params=("admin_password",))
        op_id = op.id
    with world.identity.store.session() as session:
        assert cancel(session, op_id)
    with world.identity.store.session() as session:
        assert session.get(Operation, op_id).params == {"keep": 1}
