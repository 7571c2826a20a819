"""Settings, secret references and the Fernet key repository."""

from __future__ import annotations

import pytest
from cryptography.fernet import InvalidToken

from overcast.config import ConfigError, Secret, load_settings
from overcast.core.keys import KeyRepository


def test_defaults_without_any_config(tmp_path):
    settings = load_settings(data_dir=tmp_path, environ={})
    assert settings.server.port == 8780
    assert settings.regions == ["RegionOne"]
    assert settings.database_url.startswith("sqlite:///")


def test_toml_env_overrides_and_secret_references(tmp_path):
    (tmp_path / "pw").write_text("from-a-file\n")
    config = tmp_path / "overcast.toml"
    config.write_text(f"""
[server]
port = 9000
[bootstrap]
admin_password = "file:{tmp_path / 'pw'}"
demo_password = "env:DEMO_PW"
[clouds.RegionOne]
driver = "local"
[clouds.aws-east]
driver = "libcloud"
secret = "env:AWS_SECRET"
""")
    env = {"OVERCAST_SERVER_PORT": "9100", "DEMO_PW": "d3mo", "AWS_SECRET": "s3cr3t"}
    settings = load_settings(config, data_dir=tmp_path, environ=env)
    assert settings.server.port == 9100
    assert settings.bootstrap.admin_password.reveal() == "from-a-file"
    assert settings.bootstrap.demo_password == Secret("d3mo")
    assert "d3mo" not in repr(settings)
    assert settings.regions == ["RegionOne", "aws-east"]
    assert settings.clouds[1].options["secret"] == "s3cr3t"


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nportt = 1\n")
    with pytest.raises(ConfigError, match="portt"):
        load_settings(bad, environ={})
    bad.write_text("[bootstrap]\nadmin_password = 'env:NOPE_NOT_SET'\n")
    with pytest.raises(ConfigError, match="NOPE_NOT_SET"):
        load_settings(bad, environ={})
    bad.write_text("[nonsense]\n")
    with pytest.raises(ConfigError, match="nonsense"):
        load_settings(bad, environ={})


def test_key_rotation_keeps_old_tokens_valid_until_the_key_is_dropped(tmp_path):
    repo = KeyRepository(tmp_path / "keys", max_active_keys=3)
    assert repo.setup() is True
    assert repo.setup() is False
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["0", "1"]
    old = repo.fernet().encrypt(b"x")
    repo.rotate()                      # keys: 0 (staged), 2 (primary), 1 (secondary)
    assert repo.fernet().decrypt(old) == b"x"
    repo.rotate()                      # keys: 0, 3, 2 -- key 1 dropped
    assert sorted(int(p.name) for p in (tmp_path / "keys").iterdir()) == [0, 2, 3]
    with pytest.raises(InvalidToken):
        repo.fernet().decrypt(old)


def test_staged_key_is_accepted_before_promotion(tmp_path):
    # A node that already rotated encrypts with the new primary, which other nodes hold as staged.
    a = KeyRepository(tmp_path / "a")
    a.setup()
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    for f in (tmp_path / "a").iterdir():
        (b_dir / f.name).write_bytes(f.read_bytes())
    b = KeyRepository(b_dir)
    a.rotate()
    token = a.fernet().encrypt(b"y")
    assert b.fernet().decrypt(token) == b"y"
