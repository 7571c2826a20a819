"""The named-endpoint registry and per-service fault bodies."""

from __future__ import annotations

import pytest

from overcast.api import faults
from overcast.api.routing import Registry, RoutingError


def test_url_for_fails_loudly_on_missing_parameter():
    registry = Registry()
    registry.declare("identity", "v3_user", "/v3/users/{user_id}", ["GET"])
    assert registry.url_for("http://h:1", "identity", "v3_user", user_id="u1") == "http://h:1/identity/v3/users/u1"
    with pytest.raises(RoutingError, match="user_id"):
        registry.url_for("http://h:1", "identity", "v3_user")
    with pytest.raises(RoutingError):
        registry.url_for("http://h:1", "identity", "nope")


def test_duplicate_and_undeclared_names_are_refused():
    registry = Registry()
    registry.declare("compute", "x", "/x", ["GET"])
    with pytest.raises(RoutingError):
        registry.declare("compute", "x", "/y", ["GET"])
    with pytest.raises(RoutingError):
        registry.bind("compute", "y", object())
    with pytest.raises(RoutingError):
        registry.declare("nosuch", "x", "/x", ["GET"])


def test_identity_registry_knows_jumpgates_49_names(cloud):
    names = {e.name for e in cloud.app.registry.endpoints("identity")}
    jumpgate = {
        "versions", "v3_auth_index", "v3_auth_tokens", "v3_services", "v3_services_with_id", "v3_endpoints",
        "v3_endpoints_with_id", "v3_domains", "v3_domains_with_id", "v3_domain_user_roles",
        "v3_domain_user_role", "v3_domain_group_roles", "v3_domain_group_role", "v3_projects",
        "v3_projects_with_id", "v3_project_users", "v3_project_user_roles", "v3_project_user_role",
        "v3_project_group_roles", "v3_project_role", "v3_users", "v3_user", "v3_user_groups",
        "v3_user_projects", "v3_user_roles", "v3_groups", "v3_group", "v3_group_users", "v3_group_user",
        "v3_credentails", "v3_credentail", "v3_roles", "v3_role", "v3_role_users", "v3_policies", "v3_policy",
        "v2_auth_index", "v2_extensions", "v2_extension_alias", "v2_tokens", "v2_token_tenants", "v2_token",
        "v2_token_endpoints", "v2_users", "v2_user", "v2_user_roles", "v2_tenants", "v2_tenant",
        "v2_tenant_user_roles",
    }
    assert len(jumpgate) == 49
    assert jumpgate <= names


@pytest.mark.parametrize("service,status,expected", [
    ("identity", 404, {"error": {"code": 404, "message": "gone", "title": "Not Found"}}),
    ("compute", 404, {"itemNotFound": {"code": 404, "message": "gone"}}),
    ("compute", 409, {"conflictingRequest": {"code": 409, "message": "gone"}}),
    ("volume", 400, {"badRequest": {"code": 400, "message": "gone"}}),
    ("network", 404, {"NeutronError": {"type": "HTTPNotFound", "message": "gone", "detail": ""}}),
])
def test_fault_bodies_per_service(service, status, expected):
    _, rendered = faults.render(service, faults.Fault(status, "gone"))
    assert rendered == expected


def test_neutron_fault_kind():
    _, rendered = faults.render("network", faults.NotFound("Network x could not be found.", kind="NetworkNotFound"))
    assert rendered["NeutronError"]["type"] == "NetworkNotFound"


def test_every_service_prefix_requires_a_token_and_renders_its_own_401(cloud):
    expectations = {
        "/identity/v3/users": "error",
        "/compute/v2.1/servers": "unauthorized",
        "/volume/v3/volumes": "unauthorized",
        "/network/v2.0/networks": "NeutronError",
        "/image/v2/images": "title",
    }
    for path, key in expectations.items():
        resp = cloud.request("GET", path, "not-a-token")
        assert resp.status_code == 401, path
        assert key in resp.json, (path, resp.json)
        assert resp.headers["content-type"].startswith("application/json")


def test_unexpected_error_is_a_500_fault_without_traceback(cloud, admin_token, monkeypatch):
    from overcast.core.identity.auth import Authenticator

    def boom(*a, **k):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(Authenticator, "describe", boom)
    resp = cloud.request("GET", "/identity/v3/auth/tokens", admin_token, headers={"X-Subject-Token": admin_token})
    assert resp.status_code == 500
    assert "secret internals" not in resp.text
    assert resp.json["error"]["code"] == 500


def test_head_and_204_have_no_body(cloud, admin_token):
    resp = cloud.request("HEAD", "/identity/v3/auth/tokens", admin_token, headers={"X-Subject-Token": admin_token})
    assert resp.status_code == 200 and resp.content == b""
    resp = cloud.request("DELETE", "/identity/v3/auth/tokens", admin_token, headers={"X-Subject-Token": admin_token})
    assert resp.status_code == 204 and resp.content == b""


def test_compute_responses_carry_compute_request_id(cloud):
    resp = cloud.client.simulate_get("/compute/v2.1/servers")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]


def test_second_region_is_served_under_its_prefix(tmp_path):
    import falcon.testing

    from overcast.app import create_app
    from overcast.config import load_settings
    from overcast.core.identity import build_identity
    from overcast.core.identity.bootstrap import bootstrap
    from overcast.core.identity.catalog import service_url

    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "local"\n[clouds.lab]\ndriver = "noop"\n')
    settings = load_settings(config, data_dir=tmp_path / "data", environ={}, identity={"bcrypt_rounds": 4})
    identity = build_identity(settings)
    bootstrap(identity)
    client = falcon.testing.TestClient(create_app(settings, identity))
    assert service_url(settings, "compute", "/compute/v2.1", "lab").endswith("/regions/lab/compute/v2.1")
    assert service_url(settings, "identity", "/identity", "lab") == settings.public_url + "/identity"
    resp = client.simulate_get("/regions/lab/compute/v2.1")
    assert resp.status_code == 200 and resp.json["version"]["id"] == "v2.1"
    assert client.simulate_get("/regions/nowhere/compute/v2.1").status_code == 404
    identity.store.dispose()


def test_service_unavailable_carries_retry_after_to_the_client():
    import falcon
    import falcon.testing

    from overcast.api import faults
    from overcast.app import _core_error
    from overcast.core.errors import ServiceUnavailable

    app = falcon.App()
    app.set_error_serializer(faults.serialize)
    app.add_error_handler(ServiceUnavailable, _core_error)

    class Down:
        def on_get(self, req, resp):
            raise ServiceUnavailable("cloud lab is unavailable", retry_after=12.4)

    app.add_route("/compute/v2.1/servers", Down())
    result = falcon.testing.TestClient(app).simulate_get("/compute/v2.1/servers")
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "12"
    assert "cloud lab is unavailable" in result.text
