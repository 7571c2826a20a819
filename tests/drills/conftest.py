"""Fixtures of the drills: one world built per test process, copied for every test that changes it.

Building the world (personas, one of every resource, servers ACTIVE, volumes available) takes
seconds; copying its data directory takes milliseconds. Every test that uses ``world`` ends with
the secret scan over everything the world logged and answered (:func:`scan_for_secrets`).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from world import FERNET_TOKEN, World  # noqa: E402


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data = tmp_path_factory.mktemp("drill-world") / "data"
    world = World(data)
    try:
        world.build()
        scan_for_secrets(world)
        return data, world.state()
    finally:
        world.close()


@pytest.fixture
def world(world_template: tuple[Path, dict], tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the built world; the secret scan runs when the test has passed."""
    source, state = world_template
    data = tmp_path / "data"
    shutil.copytree(source, data)
    copy = World(data, state)
    try:
        yield copy
        scan_for_secrets(copy)
    finally:
        copy.close()


def scan_for_secrets(world: World) -> None:
    """No password, Fernet or credential key in any log line or response; no token in any log line,
    nor in any response but the login that issued it and the token validation calls that are about
    that token."""
    secrets = {name: value for name, value in world.secrets().items() if len(value) >= 8}
    token_re = re.compile(FERNET_TOKEN)
    problems: list[str] = []
    for line in world.recorder.lines:
        for name, value in secrets.items():
            if value in line:
                problems.append(f"log line carries {name}: {line[:300]}")
        match = token_re.search(line)
        if match:
            problems.append(f"log line carries a token: {line[:300]}")
    for method, path, status, headers, body in world.recorder.responses:
        text = body.decode("utf-8", "replace")
        head = " ".join(f"{k}: {v}" for k, v in headers.items() if k.lower() != "x-subject-token")
        for name, value in secrets.items():
            if value in text or value in head:
                problems.append(f"{method} {path} ({status}) answers {name}")
        if not _token_endpoint(path) and (token_re.search(text) or token_re.search(head)):
            problems.append(f"{method} {path} ({status}) answers a token: {text[:200]}")
    assert not problems, "secrets leaked:\n" + "\n".join(problems[:30])


def _token_endpoint(path: str) -> bool:
    """Where a response is about a token and may carry it (issue, validate, the v2 token calls)."""
    return path.startswith(("/identity/v2.0/tokens", "/identity/v3/auth/tokens", "/identity/v3/auth/"))
