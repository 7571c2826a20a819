"""No input can break a list, and a failing request keeps nothing (issue 16 §4, §5; decision 0026).

The sweep (test_sweep.py) sends every endpoint these bodies and more; these are the cases the
drills found, each written out against the fault the real service gives.
"""

from __future__ import annotations

import json
import logging

import pytest

from overcast.api import media
from world import deep

DEPTH_FAULT = "nested deeper than 32 levels"


def _json(levels: int) -> bytes:
    return b'{"a": ' * levels + b'"x"' + b"}" * levels


def _user_id(cloud, token: str) -> str:  # noqa: ANN001
    resp = cloud.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
    return resp.json["token"]["user"]["id"]


def _project_id(cloud, token: str) -> str:  # noqa: ANN001
    resp = cloud.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
    return resp.json["token"]["project"]["id"]


def test_a_deep_extra_attribute_is_refused_and_lists_keep_working(cloud, admin_token, demo_token) -> None:  # noqa: ANN001
    """The issue's case: a member stores a credential and a trust whose extra attribute is nested
    300 deep; the request answered 500 and every later list answered 500, for everyone."""
    me, project = _user_id(cloud, demo_token), _project_id(cloud, demo_token)
    for path, wrapper, body in (
        ("/identity/v3/credentials", "credential", {"type": "drill", "blob": "b", "user_id": me}),
        ("/identity/v3/OS-TRUST/trusts", "trust", {"trustor_user_id": me, "trustee_user_id": me,
                                                   "project_id": project, "impersonation": False,
                                                   "roles": [{"name": "member"}]}),
    ):
        resp = cloud.request("POST", path, demo_token, json={wrapper: {**body, "extra": deep(300)}})
        assert resp.status_code == 400, resp.text
        message = resp.json["error"]["message"]
        assert DEPTH_FAULT in message and f"'{wrapper}.extra.a...'" in message, message
    for path in ("/identity/v3/credentials", "/identity/v3/OS-TRUST/trusts", f"/identity/v3/OS-TRUST/trusts?trustor_user_id={me}"):
        for token in (admin_token, demo_token):
            if path.endswith("trusts") and token == demo_token:
                continue  # listing every trust is the admin's (Keystone's identity:list_trusts)
            assert cloud.request("GET", path, token).status_code == 200


@pytest.mark.parametrize("path, wrapper", [
    ("/identity/v3/projects/{project}", "project"), ("/identity/v3/users/{user}", "user"),
    ("/identity/v3/groups/{group}", "group"), ("/identity/v3/roles/{role}", "role"),
    ("/identity/v3/domains/default", "domain"), ("/identity/v3/regions/RegionOne", "region"),
    ("/identity/v3/endpoints/{endpoint}", "endpoint"), ("/identity/v3/credentials/{credential}", "credential"),
])
def test_patch_with_a_999_deep_extra_is_400(cloud, admin_token, path: str, wrapper: str) -> None:  # noqa: ANN001
    ids = {
        "project": _project_id(cloud, admin_token), "user": _user_id(cloud, admin_token),
        "group": cloud.request("POST", "/identity/v3/groups", admin_token,
                               json={"group": {"name": "drill"}}).json["group"]["id"],
        "role": cloud.request("GET", "/identity/v3/roles", admin_token).json["roles"][0]["id"],
        "endpoint": cloud.request("GET", "/identity/v3/endpoints", admin_token).json["endpoints"][0]["id"],
        "credential": cloud.request("POST", "/identity/v3/credentials", admin_token, json={"credential": {
            "type": "drill", "blob": "b", "user_id": _user_id(cloud, admin_token)}}).json["credential"]["id"],
    }
    body = b'{"%s": {"extra": ' % wrapper.encode() + _json(999) + b"}}"
    resp = cloud.request("PATCH", path.format(**ids), admin_token, body=body,
                         headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert f"'{wrapper}.extra.a...'" in resp.json["error"]["message"]
    listing = path.rsplit("/", 1)[0]
    assert cloud.request("GET", listing, admin_token).status_code == 200


def test_metadef_tags_that_are_not_objects_are_400(cloud, admin_token) -> None:  # noqa: ANN001
    assert cloud.request("POST", "/image/v2/metadefs/namespaces", admin_token,
                         json={"namespace": "drill-ns"}).status_code == 201
    resp = cloud.request("POST", "/image/v2/metadefs/namespaces/drill-ns/tags", admin_token, json={"tags": ["abc"]})
    assert resp.status_code == 400, resp.text
    assert "tags[0]" in resp.json["message"]
    deep_body = cloud.request("POST", "/image/v2/metadefs/namespaces/drill-ns/objects", admin_token,
                              body=_json(1000), headers={"Content-Type": "application/json"})
    assert deep_body.status_code == 400, deep_body.text
    assert cloud.request("GET", "/image/v2/metadefs/namespaces/drill-ns/tags", admin_token).status_code == 200


@pytest.mark.parametrize("value, message", [
    (2 ** 63, "volumes must be <= 2147483647"), (2 ** 64, "volumes must be an integer"),  # (a float in JSON)
    (1.5e308, "volumes must be an integer"),
    (True, "volumes must be an integer"), ("1.5", "volumes must be an integer"),
])
def test_cinder_quota_values_are_checked_as_cinder_does(cloud, admin_token, value, message) -> None:  # noqa: ANN001
    project = _project_id(cloud, admin_token)
    for path, wrapper in ((f"/volume/v3/{project}/os-quota-sets/{project}", "quota_set"),
                          (f"/volume/v3/{project}/os-quota-class-sets/default", "quota_class_set")):
        resp = cloud.request("PUT", path, admin_token, json={wrapper: {"volumes": value}})
        assert resp.status_code == 400, resp.text
        assert resp.json == {"badRequest": {"code": 400, "message": f"Invalid input received: {message}."}}
        assert cloud.request("GET", path, admin_token).status_code == 200


def test_a_cinder_500_names_cinders_fault(cloud, admin_token, monkeypatch) -> None:  # noqa: ANN001
    """Cinder's wsgi.Fault names a 500 ``computeFault`` (the name it shares with Nova); 4xx as Nova."""
    from overcast.api.volume import quotas

    def broken(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("drill")

    monkeypatch.setattr(quotas.core, "defaults", broken)
    project = _project_id(cloud, admin_token)
    resp = cloud.request("GET", f"/volume/v3/{project}/os-quota-sets/{project}/defaults", admin_token)
    assert resp.status_code == 500
    assert set(resp.json) == {"computeFault"}


def test_a_request_that_fails_after_writing_keeps_nothing(cloud, admin_token, monkeypatch, caplog) -> None:  # noqa: ANN001
    """The group is stored and its block committed, then the responder fails (here: setting the
    response): 500, the access log says 500, and the group is not there (before, it was kept)."""
    import falcon

    real = falcon.Response.media

    def refuse(resp, value):  # noqa: ANN001, ANN202
        if "drill-kept" in json.dumps(value, default=str):
            raise RuntimeError("drill: the responder fails after the store wrote")
        real.fset(resp, value)

    monkeypatch.setattr(falcon.Response, "media", property(real.fget, refuse))
    with caplog.at_level(logging.INFO, logger="overcast.access"):
        resp = cloud.request("POST", "/identity/v3/groups", admin_token, json={"group": {"name": "drill-kept"}})
    assert resp.status_code == 500
    assert any('"POST /identity/v3/groups" status: 500' in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    assert cloud.request("GET", "/identity/v3/groups?name=drill-kept", admin_token).json["groups"] == []


def test_a_body_that_cannot_be_rendered_is_a_500_and_keeps_nothing(cloud, admin_token, monkeypatch, caplog) -> None:  # noqa: ANN001
    """What broke lists: a stored record whose JSON cannot be written. Now the response is rendered
    before the commit: if it cannot be, the client gets the service's 500 (with a body), the
    access log says 500, and the record is gone."""
    real = media.dumps

    def dumps(obj):  # noqa: ANN001, ANN202
        if "drill-unrenderable" in json.dumps(obj, default=str):
            raise TypeError("drill: cannot render")
        return real(obj)

    monkeypatch.setattr(media, "dumps", dumps)
    with caplog.at_level(logging.INFO, logger="overcast.access"):
        resp = cloud.request("POST", "/identity/v3/regions", admin_token,
                             json={"region": {"id": "drill-unrenderable"}})
    assert resp.status_code == 500
    assert resp.json["error"]["code"] == 500
    assert any('"POST /identity/v3/regions" status: 500' in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    assert cloud.request("GET", "/identity/v3/regions/drill-unrenderable", admin_token).status_code == 404
    assert cloud.request("GET", "/identity/v3/regions", admin_token).status_code == 200


def test_a_refused_login_still_counts_toward_lockout(cloud, admin_token, settings, monkeypatch) -> None:  # noqa: ANN001
    """The one write a refused request keeps (its own transaction): the failed-login counter."""
    from overcast.store.models import User

    bad = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"id": "default"}, "password": "wrong"}}}}}
    assert cloud.request("POST", "/identity/v3/auth/tokens", json=bad).status_code == 401
    with cloud.app.identity.store.session() as session:
        demo = session.query(User).filter_by(name="demo").one()
        assert demo.failed_auth_count == 1
