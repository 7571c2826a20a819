"""Services: every route and status code, paging, JSON Patch, delete, limits, project isolation."""

from __future__ import annotations

import pytest
from cdn_helpers import service_body


def test_create_answers_202_with_location_and_deploys(poppy, unique):
    name, domain = unique(), unique.domain()
    status, body, headers = poppy("POST", "/services", service_body(name, domain))
    assert status == 202 and body is None
    service_id = headers["location"].rsplit("/", 1)[1]
    assert headers["location"].endswith(f"/cdn/v1.0/services/{service_id}")
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["name"] == name and service["status"] == "deployed" and service["errors"] == []
    assert service["domains"] == [{"domain": domain, "protocol": "http"}]
    assert service["origins"][0]["rules"] == [{"name": "default", "request_url": "/*"}]
    # a default /* caching rule when none was given
    assert service["caching"] == [{"name": "default", "ttl": 86400,
                                   "rules": [{"name": "default", "request_url": "/*"}]}]
    assert service["log_delivery"] == {"enabled": False}
    rels = {link["rel"]: link for link in service["links"]}
    assert rels["self"]["href"].endswith(f"/cdn/v1.0/services/{service_id}")
    assert rels["flavor"]["href"].endswith("/cdn/v1.0/flavors/mock")
    access = rels["access_url"]
    assert access["href"] == f"{domain}.cdn.overcast.test" and access["domain"] == domain
    assert access["provider_url"].endswith(".mock.cdn.overcast.test")


def test_status_is_create_in_progress_until_the_provider_deploys(poppy, unique):
    status, _, headers = poppy("POST", "/services", service_body(unique(), unique.domain(), flavor="slow"))
    service_id = headers["location"].rsplit("/", 1)[1]
    assert poppy.get(service_id)["status"] == "create_in_progress"
    poppy.settle(service_id)
    assert poppy.get(service_id)["status"] == "deployed"


def test_a_service_on_two_providers_shows_both_and_derives_its_status(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="multi"))
    service = poppy.get(service_id)
    assert service["status"] == "deployed"
    assert cloud.app.cdn.driver("mock").find(None, service_id) is not None
    assert cloud.app.cdn.driver("second").find(None, service_id) is not None


def test_list_pages_with_marker_and_next_links(fresh_project, unique):
    mine = fresh_project()
    ids = sorted(mine.create(service_body(unique(), unique.domain()), settle=False) for _ in range(12))
    status, page, _ = mine("GET", "/services")
    assert status == 200 and len(page["services"]) == 10  # Poppy's default limit
    assert [s["id"] for s in page["services"]] == ids[:10]
    next_link = page["links"][0]
    assert next_link["rel"] == "next" and f"marker={ids[9]}" in next_link["href"] and "limit=10" in next_link["href"]
    status, page, _ = mine("GET", "/services", params={"marker": ids[9], "limit": "10"})
    assert [s["id"] for s in page["services"]] == ids[10:] and page["links"] == []
    status, page, _ = mine("GET", "/services", params={"limit": "20"})
    assert len(page["services"]) == 12 and page["links"] == []
    for service_id in ids:
        mine.settle(service_id)


@pytest.mark.parametrize("params, message", [
    ({"limit": "21"}, "Limit should be less than or equal to 20"),
    ({"limit": "0"}, "Limit should be greater than 0"),
    ({"limit": "ten"}, "Limit should be an integer"),
    ({"limit": "1" * 3500}, "Limit should be less than or equal to 20"),
    ({"marker": "not-a-uuid"}, "Marker must be a valid UUID"),
    ({"marker": "1" * 3500}, "Marker must be a valid UUID"),
])
def test_list_refuses_bad_limits_and_markers(poppy, params, message):
    status, body, _ = poppy("GET", "/services", params=params)
    assert status == 400 and message in body["message"]


def test_list_ignores_junk_parameters(poppy):
    status, body, _ = poppy("GET", "/services", params={"junk": "1" * 3500})
    assert status == 200 and "services" in body


def test_another_projects_service_is_not_found(poppy, alt_poppy, unique):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("DELETE", "/assets"),
                         ("GET", "/analytics")):
        body = [{"op": "replace", "path": "/name", "value": "stolen"}] if method == "PATCH" else None
        status, out, _ = alt_poppy(method, f"/services/{service_id}{path}", body)
        assert status == 404, (method, path, out)
        assert service_id in out["message"]
    assert poppy.get(service_id)["name"] != "stolen"


def test_malformed_and_unknown_ids(poppy):
    status, body, _ = poppy("GET", "/services/not-a-uuid")
    assert status == 400 and body["message"] == "Invalid service id"
    status, body, _ = poppy("GET", "/services/00000000-0000-4000-8000-000000000000")
    assert status == 404 and "could not be found" in body["message"]


def test_names_are_unique_per_project(poppy, alt_poppy, unique):
    name = unique()
    poppy.create(service_body(name, unique.domain()))
    status, body, _ = poppy("POST", "/services", service_body(name, unique.domain()))
    assert status == 400 and body["message"] == f"name: Service with name {name} already exists"
    alt_poppy.create(service_body(name, unique.domain()))  # another project may use it


def test_unknown_flavor_is_400(poppy, unique):
    status, body, _ = poppy("POST", "/services", service_body(unique(), unique.domain(), flavor="nope"))
    assert status == 400 and body["message"] == "flavor_id: flavor nope could not be found"


def test_no_token_is_401_and_a_system_token_is_403(cloud, poppy):
    resp = cloud.request("GET", "/cdn/v1.0/services")
    assert resp.status_code == 401
    system = cloud.token("admin", system=True)
    status, body, _ = poppy("GET", "/services", token=system)
    assert status == 403 and "project-scoped token" in body["message"]


def test_a_reader_cannot_create(cloud, poppy, unique, fresh_project):
    mine = fresh_project()
    admin = cloud.token("admin", "admin")
    roles = cloud.request("GET", "/identity/v3/roles?name=reader", admin).json["roles"]
    users = cloud.request("GET", "/identity/v3/users?name=demo", admin).json["users"]
    resp = cloud.request("PUT", f"/identity/v3/projects/{mine.project_id}/users/{users[0]['id']}/roles/"
                         f"{roles[0]['id']}", admin)
    assert resp.status_code == 204
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"id": "default"}, "password": cloud.passwords["demo"]}}},
        "scope": {"project": {"id": mine.project_id}}}}
    resp = cloud.client.simulate_post("/identity/v3/auth/tokens", json=body)
    reader = resp.headers["X-Subject-Token"]
    status, out, _ = poppy("GET", "/services", token=reader)
    assert status == 200
    status, out, _ = poppy("POST", "/services", service_body(unique(), unique.domain()), token=reader)
    assert status == 403 and "cdn:service:create" in out["message"]


# -- PATCH ---------------------------------------------------------------------------------------------
def test_patch_applies_json_patch_and_redeploys(poppy, unique, mock_driver):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    new_domain = unique.domain()
    patch = [{"op": "add", "path": "/domains/-", "value": {"domain": new_domain}},
             {"op": "replace", "path": "/caching/0/ttl", "value": 60},
             {"op": "add", "path": "/restrictions", "value": [
                 {"name": "no-bad", "access": "blacklist", "rules": [{"name": "bad", "referrer": "bad.example.net"}]}]}]
    status, body, headers = poppy("PATCH", f"/services/{service_id}", patch)
    assert status == 202, body
    assert headers["location"].endswith(service_id)
    assert poppy.get(service_id)["status"] == "update_in_progress"
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "deployed"
    assert [d["domain"] for d in service["domains"]][1] == new_domain
    assert service["caching"][0]["ttl"] == 60
    assert service["restrictions"][0]["access"] == "blacklist"
    spec = mock_driver.spec_of(mock_driver.find(None, service_id).provider_service_id)
    assert new_domain in spec.hosts and spec.caching[0].ttl == 60
    assert spec.restrictions[0].rules[0].value == "bad.example.net"


@pytest.mark.parametrize("patch, message", [
    ([{"op": "remove", "path": "/domains/0"}], "domains"),  # no domain left
    ([{"op": "replace", "path": "/origins/0/port", "value": 70000}], "origins[0].port"),
    ([{"op": "replace", "path": "/name", "value": "x"}], "name"),
    ([{"op": "add", "path": "/bogus", "value": 1}], "patch[0].path"),
    ([{"op": "replace", "path": "/status", "value": "deployed"}], "patch[0].path"),
    ([{"op": "replace", "path": "/id", "value": "x"}], "patch[0].path"),
    ([{"op": "replace", "path": "/domains/5/domain", "value": "www.x.example.org"}], "patch[0]"),
    ([{"op": "test", "path": "/name", "value": "something else"}], "patch[0]"),
    ([{"op": "replace", "path": "/domains/0/domain", "value": "example.org"}], "root domain"),
    ([{"op": "replace", "path": "/origins/0/origin", "value": "not a host"}], "origins[0].origin"),
    ([{"op": "frobnicate", "path": "/name"}], "op"),
    ([{"op": "replace", "path": "/name"}], "patch[0].value"),
    ([], "body"),
    ({"op": "replace"}, "body"),
])
def test_a_patch_that_breaks_the_schema_is_400_and_changes_nothing(poppy, unique, patch, message):
    name = unique()
    service_id = poppy.create(service_body(name, unique.domain()))
    before = poppy.get(service_id)
    status, body, _ = poppy("PATCH", f"/services/{service_id}", patch)
    assert status == 400 and message in body["message"], body
    assert poppy.get(service_id) == before


def test_patch_while_in_progress_is_400(poppy, unique):
    _, _, headers = poppy("POST", "/services", service_body(unique(), unique.domain(), flavor="slow"))
    service_id = headers["location"].rsplit("/", 1)[1]
    status, body, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/name",
                                                                   "value": unique()}])
    assert status == 400 and "neither deployed nor failed" in body["message"]
    poppy.settle(service_id)


def test_patch_can_move_a_service_to_another_flavor(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="mock"))
    status, body, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/flavor_id",
                                                                   "value": "multi"}])
    assert status == 202, body
    poppy.settle(service_id)
    assert poppy.get(service_id)["status"] == "deployed"
    assert cloud.app.cdn.driver("second").find(None, service_id) is not None
    status, body, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/flavor_id",
                                                                   "value": "slow"}])
    assert status == 202, body
    poppy.settle(service_id)
    assert poppy.get(service_id)["status"] == "deployed"
    assert cloud.app.cdn.driver("mock").find(None, service_id) is None
    assert cloud.app.cdn.driver("second").find(None, service_id) is None
    assert cloud.app.cdn.driver("slow").find(None, service_id) is not None


# -- DELETE ----------------------------------------------------------------------------------------------
def test_delete_is_202_then_gone_from_every_provider(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="multi"))
    status, body, _ = poppy("DELETE", f"/services/{service_id}")
    assert status == 202 and body is None
    assert poppy.get(service_id)["status"] == "delete_in_progress"
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404
    for provider in ("mock", "second"):
        assert cloud.app.cdn.driver(provider).find(None, service_id) is None


def test_delete_is_archived_only_when_the_provider_confirms(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="slow"))
    poppy("DELETE", f"/services/{service_id}")
    # the slow provider takes the service down over 0.3 s: the record stays meanwhile
    assert poppy.get(service_id)["status"] == "delete_in_progress"
    assert cloud.app.cdn.driver("slow").find(None, service_id) is not None
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404
    assert cloud.app.cdn.driver("slow").find(None, service_id) is None


def test_delete_of_a_deleting_service_is_202_and_idempotent(poppy, unique):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="slow"))
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    ops = poppy.settle(service_id)
    assert [op.kind for op in ops].count("cdn.delete") == 1
    assert poppy("GET", f"/services/{service_id}")[0] == 404


# -- limits ----------------------------------------------------------------------------------------------
def test_the_service_limit_is_403_and_an_admin_can_raise_it(fresh_project, admin_poppy, unique):
    mine = fresh_project()
    status, _, _ = admin_poppy("PUT", f"/admin/limits/{mine.project_id}", {"limit": 2})
    assert status == 201
    first = mine.create(service_body(unique(), unique.domain()))
    mine.create(service_body(unique(), unique.domain()))
    status, body, _ = mine("POST", "/services", service_body(unique(), unique.domain()))
    assert status == 403 and "Maximum services count of 2" in body["message"]
    mine("DELETE", f"/services/{first}")
    mine.settle(first)
    mine.create(service_body(unique(), unique.domain()))  # the deleted one freed its slot
    status, body, _ = admin_poppy("GET", f"/admin/limits/{mine.project_id}")
    assert status == 200 and body == {"limit": 2, "project_id": mine.project_id}


def test_the_default_limit_is_twenty(fresh_project, unique):
    mine = fresh_project()
    for _ in range(20):
        mine.create(service_body(unique(), unique.domain()), settle=False)
    status, body, _ = mine("POST", "/services", service_body(unique(), unique.domain()))
    assert status == 403 and "Maximum services count of 20" in body["message"]


def test_no_token_is_kept_in_the_operations(poppy, unique, cloud):
    """Poppy's job data stored the user's token; an operation here holds ids and arguments only."""
    from sqlalchemy import select

    from overcast.ops.models import Operation

    service_id = poppy.create(service_body(unique(), unique.domain()))
    poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})
    poppy.settle(service_id)
    with cloud.app.cdn.store.session() as session:
        rows = session.scalars(select(Operation).where(Operation.resource_id == service_id)).all()
        text = " ".join(repr((op.params, op.checkpoint, op.result, op.error)) for op in rows)
    assert rows and poppy.token not in text and poppy.token[:40] not in text
