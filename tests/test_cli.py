"""The overcast command: bootstrap, clouds-yaml, keys rotate, coverage, db upgrade."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from overcast.cli import main


def run(data_dir, *args):
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args],
                                env={"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_bootstrap_is_idempotent_and_writes_devstack_clouds(tmp_path):
    run(tmp_path, "bootstrap")
    first = yaml.safe_load((tmp_path / "clouds.yaml").read_text())
    run(tmp_path, "bootstrap")
    again = yaml.safe_load(run(tmp_path, "clouds-yaml"))
    assert first == again
    clouds = again["clouds"]
    assert set(clouds) == {"overcast", "overcast-alt", "overcast-admin", "overcast-system-admin"}
    assert clouds["overcast"]["auth"]["username"] == "demo"
    assert clouds["overcast-alt"]["auth"]["project_name"] == "alt_demo"
    assert clouds["overcast-system-admin"]["auth"]["system_scope"] == "all"
    assert (tmp_path / "clouds.yaml").stat().st_mode & 0o077 == 0


def test_keys_rotate(tmp_path):
    run(tmp_path, "bootstrap")
    assert "primary key is now 2" in run(tmp_path, "keys", "rotate")
    assert sorted(p.name for p in (tmp_path / "fernet-keys").iterdir()) == ["0", "1", "2"]
    out = run(tmp_path, "keys", "rotate", "--credentials")
    assert "re-encrypted 0 credentials" in out


def test_db_upgrade_and_coverage(tmp_path):
    assert "newest revision" in run(tmp_path, "db", "upgrade")
    out = run(tmp_path, "coverage", "--service", "identity")
    assert "v3_auth_tokens" in out and "NO " in out
    assert any(line.endswith("endpoints implemented") for line in out.splitlines())


def test_coverage_shows_each_regions_capabilities(tmp_path):
    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "local"\n\n[clouds.lab]\ndriver = "noop"\n')
    out = run(tmp_path, "--config", str(config), "coverage", "--service", "compute")
    rows = {tuple(line.split()[:3]): line for line in out.splitlines() if line.startswith("  ")}
    # the local cloud offers every compute capability but a console (it has no console proxy, 0022)
    # and cold migration (one host: nowhere to move a server, 0072)
    assert rows[("RegionOne", "local", "compute")].split("lacks ")[1] == "migrate, remote_console"
    assert rows[("lab", "noop", "volume")].split()[3].count("/") == 1
    assert "not offered" in rows[("lab", "noop", "cdn")]


def test_coverage_of_the_passthrough_region(tmp_path, monkeypatch):
    """``coverage --region lab`` shows what the openstack driver offers (no upstream is reached)."""
    from overcast.testing.passthrough import front_config

    config = tmp_path / "overcast.toml"
    config.write_text(front_config("http://127.0.0.1:9/v3"))
    monkeypatch.setenv("LAB_PASSWORD", "never-shown")
    out = run(tmp_path, "--config", str(config), "coverage", "--service", "compute", "--region", "lab")
    rows = {tuple(line.split()[:3]): line for line in out.splitlines() if line.startswith("  ")}
    assert not any(key[0] == "RegionOne" for key in rows)
    assert "lacks" in rows[("lab", "openstack", "compute")] and "snapshot" in rows[("lab", "openstack", "compute")]
    assert rows[("lab", "openstack", "network")].split()[3] == "3/3"
    assert "boots only the backend's images" in rows[("lab", "openstack", "images")]
    assert "owned by provider" in rows[("lab", "openstack", "addresses")]
    assert "never-shown" not in out


def test_coverage_exits_cleanly(tmp_path):
    """The command as a process: exit status 0 and nothing on stderr (a library's thread or cleanup
    dying at interpreter exit would print there, e.g. glibc's "FATAL: exception not rethrown"),
    with the root region alone and with a passthrough region beside it."""
    import os
    import subprocess
    import sys

    from overcast.testing.passthrough import front_config

    lab = tmp_path / "lab.toml"
    lab.write_text(front_config("http://127.0.0.1:9/v3"))
    env = {**os.environ, "OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "LAB_PASSWORD": "never-shown"}
    for extra in ([], ["--config", str(lab)]):
        proc = subprocess.run([sys.executable, "-m", "overcast", "--data-dir", str(tmp_path / "data"), *extra,
                               "coverage"], capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0 and proc.stderr == "", (extra, proc.returncode, proc.stderr[-2000:])
        assert "endpoints implemented" in proc.stdout


def test_help_everywhere():
    for args in ([], ["serve"], ["bootstrap"], ["db", "upgrade"], ["keys", "rotate"], ["clouds-yaml"],
                 ["coverage"], ["dashboard"], ["agent"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_agent_needs_a_bus_and_resolves_its_reference(monkeypatch):
    monkeypatch.delenv("OVERCAST_AGENT_BUS", raising=False)
    result = CliRunner().invoke(main, ["agent", "--region", "lab", "--host", "h1"])
    assert result.exit_code == 1 and "no message bus" in result.output
    monkeypatch.delenv("OVERCAST_TEST_UNSET_BUS", raising=False)
    result = CliRunner().invoke(main, ["agent", "--region", "lab", "--host", "h1", "--bus", "env:OVERCAST_TEST_UNSET_BUS"])
    assert result.exit_code == 1 and "OVERCAST_TEST_UNSET_BUS" in result.output and "Traceback" not in result.output


def test_agent_finds_the_bus_of_its_region_in_the_config(tmp_path, monkeypatch):
    """``overcast agent --config FILE --region R``: the ``bus`` of the agent region R (by its
    ``region`` option, else its section's name), its reference resolved; no such region: refused."""
    from overcast.drivers.agent import process

    class Started(Exception):
        pass

    seen = []

    class Agent:                              # stands in for the agent: records what it was given
        def __init__(self, **kw):
            seen.append(kw)

        def start(self):
            raise Started

    monkeypatch.setattr(process, "Agent", Agent)
    monkeypatch.delenv("OVERCAST_AGENT_BUS", raising=False)
    monkeypatch.setenv("OVERCAST_TEST_LAB_BUS", "amqp://lab:pw1@127.0.0.1:5999/")
    config = tmp_path / "overcast.toml"
    config.write_text("""
[clouds.RegionOne]
driver = "local"

[clouds.lab]
driver = "agent"
bus = "env:OVERCAST_TEST_LAB_BUS"

[clouds.far]
driver = "agent"
region = "edge"
bus = "amqp://edge:pw2@127.0.0.2:5672/"
""")

    def agent(region):
        return CliRunner().invoke(main, ["--config", str(config), "--data-dir", str(tmp_path / "data"), "agent",
                                         "--region", region, "--host", "h1", "--state-dir", str(tmp_path / "h1")])

    result = agent("lab")                     # by the section's name, the env: reference resolved
    assert isinstance(result.exception, Started), result.output
    assert seen[-1]["bus_url"] == "amqp://lab:pw1@127.0.0.1:5999/" and seen[-1]["region"] == "lab"
    result = agent("edge")                    # by the region option
    assert isinstance(result.exception, Started), result.output
    assert seen[-1]["bus_url"] == "amqp://edge:pw2@127.0.0.2:5672/"
    count = len(seen)
    result = agent("far")                     # a section whose region option names another: not it
    assert result.exit_code == 1 and "no message bus" in result.output and len(seen) == count
