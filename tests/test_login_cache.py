"""The verified-password cache behind fast logins (docs/decisions/0033-login-cache.md): a returning
user skips bcrypt; nothing Keystone promises changes (a wrong password costs a full hash and the same
401; password change, disable and lockout act at once; nothing recovers a password)."""

from __future__ import annotations

import bcrypt
import pytest

from overcast.config import load_settings
from overcast.core.passwords import PasswordHasher, VerifiedCache
from tests.conftest import body

V3 = "/identity/v3"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    return load_settings(data_dir=tmp_path / "data", identity={
        "bcrypt_rounds": 4, "lockout_failure_attempts": 2, "lockout_duration": 600})


@pytest.fixture
def bcrypt_calls(monkeypatch):
    """Counts real bcrypt work (a check or a hash), whatever path it comes from."""
    calls = {"n": 0}
    real_check, real_hash = bcrypt.checkpw, bcrypt.hashpw

    def checkpw(*args):
        calls["n"] += 1
        return real_check(*args)

    def hashpw(*args):
        calls["n"] += 1
        return real_hash(*args)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    monkeypatch.setattr(bcrypt, "hashpw", hashpw)
    return calls


def _login(cloud, password, name="demo"):
    return cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": name, "domain": {"id": "default"},
                                                       "password": password}}}}})


def test_a_returning_user_skips_bcrypt(cloud, bcrypt_calls):
    password = cloud.passwords["demo"]
    assert _login(cloud, password).status_code == 201
    assert bcrypt_calls["n"] == 1
    for _ in range(5):
        assert _login(cloud, password).status_code == 201
    assert bcrypt_calls["n"] == 1


def test_a_wrong_password_still_costs_a_full_hash_and_the_same_401(cloud, bcrypt_calls):
    assert _login(cloud, cloud.passwords["demo"]).status_code == 201
    before = bcrypt_calls["n"]
    wrong = _login(cloud, "not-the-password")
    unknown = _login(cloud, "not-the-password", name="nobody")
    assert wrong.status_code == unknown.status_code == 401 and body(wrong) == body(unknown)
    assert bcrypt_calls["n"] == before + 2  # one full bcrypt each, cached user or not


def test_a_password_change_takes_effect_at_once(cloud, admin_token):
    old = cloud.passwords["demo"]
    assert _login(cloud, old).status_code == 201
    user_id = body(_login(cloud, old))["token"]["user"]["id"]
    resp = cloud.request("PATCH", f"{V3}/users/{user_id}", admin_token, json={"user": {"password": "brand-new-1"}})
    assert resp.status_code == 200
    assert _login(cloud, old).status_code == 401
    assert _login(cloud, "brand-new-1").status_code == 201


def test_disable_takes_effect_at_once(cloud, admin_token):
    password = cloud.passwords["demo"]
    user_id = body(_login(cloud, password))["token"]["user"]["id"]
    assert cloud.request("PATCH", f"{V3}/users/{user_id}", admin_token,
                         json={"user": {"enabled": False}}).status_code == 200
    assert _login(cloud, password).status_code == 401
    assert cloud.request("PATCH", f"{V3}/users/{user_id}", admin_token,
                         json={"user": {"enabled": True}}).status_code == 200
    assert _login(cloud, password).status_code == 201


def test_lockout_takes_effect_at_once(cloud):
    password = cloud.passwords["demo"]
    assert _login(cloud, password).status_code == 201  # cached now
    for _ in range(2):
        assert _login(cloud, "wrong").status_code == 401
    locked = _login(cloud, password)
    assert locked.status_code == 401 and "locked" in body(locked)["error"]["message"]


def test_the_cache_holds_nothing_a_password_comes_back_from():
    hasher = PasswordHasher(4)
    stored = hasher.hash("correct horse")
    assert hasher.verify("correct horse", stored)
    entries = list(hasher.verified._entries)
    assert len(entries) == 1 and len(entries[0]) == 32            # a keyed digest, nothing else
    assert b"correct horse" not in entries[0]
    other = PasswordHasher(4)                                      # another process: another key
    assert other.verified._digest(stored, b"correct horse") != entries[0]


def test_entries_expire_and_the_cache_is_bounded():
    now = [0.0]
    cache = VerifiedCache(size=2, ttl=10, clock=lambda: now[0])
    for n in range(3):
        cache.remember("$2b$04$hash", f"pw{n}".encode())
    assert len(cache) == 2 and not cache.seen("$2b$04$hash", b"pw0")
    assert cache.seen("$2b$04$hash", b"pw2")
    now[0] = 11
    assert not cache.seen("$2b$04$hash", b"pw2")


def test_history_checks_always_run_bcrypt(bcrypt_calls):
    hasher = PasswordHasher(4)
    stored = hasher.hash("pw")
    assert hasher.verify("pw", stored)
    before = bcrypt_calls["n"]
    assert hasher.verify("pw", stored, remember=False)
    assert bcrypt_calls["n"] == before + 1


def test_a_remembered_token_still_expires_is_revoked_and_dies_with_its_key(tmp_path, monkeypatch):
    """Decoded tokens are remembered per process; expiry, revocation and key rotation still apply."""
    import time as time_module

    from overcast.core.keys import KeyRepository
    from overcast.core.tokens import TokenError, TokenProvider

    class NoRevocations:
        revoked: set = set()

        def is_revoked(self, ctx):  # noqa: ANN001, ANN201
            return ctx.audit_ids[0] in self.revoked

    keys = KeyRepository(tmp_path / "keys", max_active_keys=3)
    keys.setup()
    revocations = NoRevocations()
    tokens = TokenProvider(keys, revocations, lifetime=3600)
    token, ctx = tokens.issue(user_id="u", user_domain_id="default", methods=["password"], roles=["member"],
                              project_id="p")
    assert tokens.validate(token) == tokens.validate(token) == ctx
    assert token in tokens._decoded
    revocations.revoked = {ctx.audit_ids[0]}
    with pytest.raises(TokenError):
        tokens.validate(token)
    revocations.revoked = set()
    assert tokens.validate(token) == ctx
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 7200)
    with pytest.raises(TokenError):
        tokens.validate(token)
    monkeypatch.setattr(time_module, "time", real)
    keys.rotate()
    keys.rotate()  # the key that made the token is dropped
    with pytest.raises(TokenError):
        tokens.validate(token)
