"""Flavors: anyone with a token reads them; admins create and delete them; a provider that is not
configured and a flavor in use are refused."""

from __future__ import annotations

from cdn_helpers import service_body


def test_list_and_show(poppy):
    status, body, _ = poppy("GET", "/flavors")
    assert status == 200
    ids = [f["id"] for f in body["flavors"]]
    assert {"mock", "multi", "slow", "basic"} <= set(ids)
    status, flavor, _ = poppy("GET", "/flavors/multi")
    assert status == 200
    assert [p["provider"] for p in flavor["providers"]] == ["mock", "second"]
    assert flavor["providers"][0]["links"][0]["rel"] == "provider_url"
    assert flavor["links"] == [{"href": flavor["links"][0]["href"], "rel": "self"}]
    assert flavor["links"][0]["href"].endswith("/cdn/v1.0/flavors/multi")
    assert poppy("GET", "/flavors/nope")[0] == 404


def test_admin_creates_and_deletes(admin_poppy, poppy, unique):
    flavor_id = unique("flavor")
    body = {"id": flavor_id, "providers": [{"provider": "second", "links": [{"href": "https://cdn.example",
                                                                             "rel": "provider_url"}]}]}
    status, out, headers = admin_poppy("POST", "/flavors", body)
    assert status == 201 and out["id"] == flavor_id and headers["location"].endswith(f"/flavors/{flavor_id}")
    assert admin_poppy("POST", "/flavors", body)[0] == 409
    assert poppy("GET", f"/flavors/{flavor_id}")[0] == 200
    status, _, _ = admin_poppy("DELETE", f"/flavors/{flavor_id}")
    assert status == 204
    assert poppy("GET", f"/flavors/{flavor_id}")[0] == 404
    assert admin_poppy("DELETE", f"/flavors/{flavor_id}")[0] == 404


def test_members_may_not_manage_flavors(poppy, unique):
    status, out, _ = poppy("POST", "/flavors", {"id": unique("f"), "providers": [{"provider": "mock"}]})
    assert status == 403 and "cdn:flavor:create" in out["message"]
    assert poppy("DELETE", "/flavors/mock")[0] == 403


def test_a_provider_that_is_not_configured_is_refused(admin_poppy, unique):
    status, out, _ = admin_poppy("POST", "/flavors", {"id": unique("f"), "providers": [{"provider": "akamai"}]})
    assert status == 400 and out["message"].startswith("providers[0].provider: provider akamai is not configured")


def test_bad_flavor_bodies(admin_poppy):
    for body, field in (({"providers": [{"provider": "mock"}]}, "body"),
                        ({"id": "ab", "providers": [{"provider": "mock"}]}, "id"),
                        ({"id": "good-id", "providers": []}, "providers"),
                        ({"id": "bad id!", "providers": [{"provider": "mock"}]}, "id")):
        status, out, _ = admin_poppy("POST", "/flavors", body)
        assert status == 400 and field in out["message"], out


def test_a_flavor_in_use_cannot_be_deleted(admin_poppy, poppy, unique):
    flavor_id = unique("flavor")
    assert admin_poppy("POST", "/flavors", {"id": flavor_id, "providers": [{"provider": "mock"}]})[0] == 201
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor=flavor_id))
    status, out, _ = admin_poppy("DELETE", f"/flavors/{flavor_id}")
    assert status == 409 and service_id in out["message"]
    poppy("DELETE", f"/services/{service_id}")
    poppy.settle(service_id)
    assert admin_poppy("DELETE", f"/flavors/{flavor_id}")[0] == 204
