"""The revocation cache: one node's revocation is seen by another node at once (same machine)
or within the cache window (other machines)."""

from __future__ import annotations

from overcast.core.identity import build_identity
from overcast.core.tokens import TokenError

import pytest


def test_second_node_sees_revocation_through_the_stamp(cloud, settings):
    token = cloud.token("demo", "demo")
    other = build_identity(settings.replace(identity=settings.identity.__class__(
        revocation_cache_seconds=3600, bcrypt_rounds=4)))
    assert other.tokens.validate(token).user_id  # warm its cache
    first = cloud.app.identity.tokens.validate(token)
    cloud.app.identity.revocations.revoke(user_id=first.user_id)
    with pytest.raises(TokenError):
        other.tokens.validate(token)
    other.store.dispose()


def test_revocation_by_project_spares_other_projects(cloud):
    demo = cloud.token("demo", "demo")
    alt = cloud.token("alt_demo", "alt_demo")
    identity = cloud.app.identity
    identity.revocations.revoke(project_id=identity.tokens.validate(demo).project_id)
    with pytest.raises(TokenError):
        identity.tokens.validate(demo)
    assert identity.tokens.validate(alt)


def test_revocation_needs_a_field(cloud):
    with pytest.raises(ValueError):
        cloud.app.identity.revocations.revoke()


def test_a_token_answered_before_is_refused_at_once_after_its_revocation(cloud, admin_token):
    """Each node keeps the verdict on a token it has seen with its copy of the events (decision
    0073); a revocation, a disabled user or a deleted project reloads the copy: the next request
    with the token is refused."""
    identity = cloud.app.identity
    demo = cloud.token("demo", "demo")
    for _ in range(3):  # answered, and its verdict kept
        assert cloud.request("GET", "/compute/v2.1/flavors", demo).status_code == 200
    user_id = identity.tokens.validate(demo).user_id
    resp = cloud.request("PATCH", f"/identity/v3/users/{user_id}", admin_token, json={"user": {"enabled": False}})
    assert resp.status_code == 200, resp.text
    assert cloud.request("GET", "/compute/v2.1/flavors", demo).status_code == 401

    alt = cloud.token("alt_demo", "alt_demo")
    assert cloud.request("GET", "/compute/v2.1/flavors", alt).status_code == 200
    project_id = identity.tokens.validate(alt).project_id
    identity.revocations.revoke(project_id=project_id)
    assert cloud.request("GET", "/compute/v2.1/flavors", alt).status_code == 401
