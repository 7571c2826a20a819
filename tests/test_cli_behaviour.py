"""What a new user meets first (issue 15's rough edges), in process: read-only commands that never
create a data directory, ``--version``, ``status``, ``coverage`` on the image API, ``GET /``,
the password hasher without a background thread, the Makefile's progress and the README's commands."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from overcast import __version__
from overcast.cli import main
from overcast.core.passwords import PasswordHasher

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory with no data directory in it, and no OVERCAST_* variables."""
    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env={"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", **(env or {})})


@pytest.mark.parametrize("args", [["clouds-yaml"], ["coverage", "--service", "image"], ["status"]])
def test_read_only_commands_never_create_a_data_directory(elsewhere, args):
    result = invoke(*args)
    assert not (elsewhere / ".overcast").exists(), result.output
    assert list(elsewhere.iterdir()) == []


def test_clouds_yaml_says_where_it_looked(elsewhere):
    result = invoke("clouds-yaml")
    assert result.exit_code == 1
    assert str(elsewhere / ".overcast") in result.output
    assert "overcast serve" in result.output
    result = invoke("--data-dir", str(elsewhere / "nope"), "clouds-yaml")
    assert str(elsewhere / "nope") in result.output and "--data-dir" in result.output


def test_clouds_yaml_prints_an_existing_one(tmp_path):
    assert invoke("--data-dir", str(tmp_path), "bootstrap").exit_code == 0
    result = invoke("--data-dir", str(tmp_path), "clouds-yaml")
    assert result.exit_code == 0 and result.output == (tmp_path / "clouds.yaml").read_text()


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"overcast {__version__}"


def test_status_of_a_directory_no_server_serves(elsewhere):
    result = invoke("status")
    assert result.exit_code == 3
    assert f"data directory: {elsewhere / '.overcast'} (does not exist)" in result.output
    assert "server: not running" in result.output
    assert "regions: RegionOne (local)" in result.output


def test_status_hides_the_database_password(elsewhere):
    result = invoke("status", env={"OVERCAST_DATABASE_URL": "postgresql://overcast:s3cret@127.0.0.1/db"})
    assert "s3cret" not in result.output and "postgresql://overcast:***@127.0.0.1/db" in result.output


def test_coverage_says_overcast_serves_images(elsewhere):
    result = invoke("coverage", "--service", "image")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.split()[:3] == ["RegionOne", "local", "image"])
    assert "not offered" not in row and "served by Overcast" in row


def test_password_hasher_starts_no_thread():
    """A thread hashing at interpreter exit aborted CLI commands (exit 134)."""
    before = threading.active_count()
    hasher = PasswordHasher(4)
    assert threading.active_count() == before
    assert hasher.verify("anything", None) is False
    assert hasher.verify("anything", "not-a-bcrypt-hash") is False
    assert hasher.verify("secret", hasher.hash("secret")) is True


def test_bootstrap_command_exits_cleanly(tmp_path):
    """The whole command in its own interpreter, the way the abort showed up."""
    result = subprocess.run([sys.executable, "-m", "overcast", "--data-dir", str(tmp_path), "bootstrap"],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4"})
    assert result.returncode == 0, result.stderr
    assert "FATAL" not in result.stderr


def test_root_document(cloud):
    resp = cloud.client.simulate_get("/")
    assert resp.status_code == 200
    services = {s["type"]: s for s in resp.json["overcast"]["services"]}
    assert set(services) == {"identity", "compute", "image", "volumev3", "network", "placement"}  # every SERVED type
    assert services["placement"]["versions"][0]["version"] == "1.39"
    assert services["compute"]["versions"][0]["version"] == "2.100"
    assert services["identity"]["versions"][0]["url"].endswith("/identity/v3")
    assert resp.json["overcast"]["auth_url"].endswith("/identity")


def test_root_page_for_a_browser(cloud):
    resp = cloud.client.simulate_get("/", headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "<h1>Overcast" in resp.text and "/identity" in resp.text


def test_first_make_serve_shows_progress():
    """``make venv`` says what it does and lets pip show each package (it used to run pip -q)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plan = subprocess.run(["make", "-n", "-B", "venv"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert re.search(r"^echo .*install", plan, re.M), plan
    pip = next(line for line in plan.splitlines() if "pip install" in line)
    assert " -q" not in pip and "--quiet" not in pip


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    lines = []
    for block in text.split("```")[1::2]:
        language, _, body = block.partition("\n")
        if language.strip() not in ("", "sh", "bash", "shell", "console"):
            continue
        for line in body.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith(("#", "[", "}", "{")):
                lines.append(line)
    return lines


def test_readme_commands_work_in_a_fresh_shell():
    """Every command the README shows starts with something a fresh shell finds: a system command,
    ``make``, or a path into the virtualenv ``make`` creates (no bare ``overcast``/``openstack``)."""
    fresh = "/usr/local/bin:/usr/bin:/bin"
    allowed_paths = (".venv/bin/", "./", "/")
    builtins = {"export", "cd", "source", "sudo"}
    bad = []
    for line in _readme_commands():
        line = re.sub(r"^[A-Za-z_][A-Za-z0-9_]*=\$\((.*)\)$", r"\1", line)  # VAR=$(command ...): the command
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):  # VAR=value command ...
            words.pop(0)
        if not words:
            continue
        word = words[0]
        if word in builtins or word.startswith(allowed_paths) or word == "make":
            continue
        if shutil.which(word, path=fresh) is None:
            bad.append(line)
    assert not bad, "README commands a fresh shell cannot run:\n" + "\n".join(bad)


def test_readme_covers_worker_stopping_and_starting_afresh():
    text = (REPO / "README.md").read_text()
    for needle in (".venv/bin/overcast worker", "Ctrl-C", ".venv/bin/overcast status", "--version",
                   "Starting afresh"):
        assert needle in text, needle


def test_a_start_with_the_same_settings_skips_bootstrap(tmp_path, monkeypatch):
    import overcast.bootstrap as boot
    from overcast.config import load_settings

    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    settings = load_settings(data_dir=tmp_path, identity={"bcrypt_rounds": 4})
    first = boot.bootstrap(settings)
    built = []
    real = boot.build_identity
    monkeypatch.setattr(boot, "build_identity", lambda *a, **k: built.append(1) or real(*a, **k))
    assert boot.bootstrap(settings) == first and built == []
    # anything the bootstrap depends on changes: it runs again
    moved = load_settings(data_dir=tmp_path, identity={"bcrypt_rounds": 4}, server={"port": 9999})
    assert boot.bootstrap(moved) == first and built == [1]
    assert ":9999/identity" in (tmp_path / "clouds.yaml").read_text()
    # a configured password is checked at every start
    configured = load_settings(data_dir=tmp_path, identity={"bcrypt_rounds": 4}, server={"port": 9999},
                               bootstrap={"demo_password": "configured-1"})
    boot.bootstrap(configured)
    assert built == [1, 1]
    boot.bootstrap(configured)
    assert built == [1, 1, 1]
