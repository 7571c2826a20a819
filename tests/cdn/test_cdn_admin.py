"""The operator routes: each one enforces the admin role (Poppy's had no authorization)."""

from __future__ import annotations

import pytest
from cdn_helpers import service_body

ADMIN_ROUTES = [
    ("GET", "/admin/services?status=deployed", None),
    ("POST", "/admin/services/action", {"action": "disable", "project_id": "x"}),
    ("POST", "/admin/services/status", {"status": "deployed", "project_id": "x",
                                        "service_id": "00000000-0000-4000-8000-000000000000"}),
    ("GET", "/admin/limits/someproject", None),
    ("PUT", "/admin/limits/someproject", {"limit": 5}),
    ("GET", "/admin/domains/www.example.org", None),
    ("GET", "/admin/certificates?status=deployed", None),
    ("PATCH", "/admin/certificates/www.example.org", [{"op": "replace", "path": "status", "value": "failed"}]),
]


@pytest.mark.parametrize("method, path, body", ADMIN_ROUTES)
def test_admin_routes_need_the_admin_role(poppy, cloud, method, path, body):
    status, out, _ = poppy(method, path.split("?")[0], body, params=dict([path.split("?")[1].split("=")])
                           if "?" in path else None)
    assert status == 403, (path, out)
    assert cloud.request(method, "/cdn/v1.0" + path.split("?")[0]).status_code == 401


def test_services_by_status(admin_poppy, poppy, unique, mock_driver):
    deployed = poppy.create(service_body(unique(), unique.domain()))
    mock_driver.inject("create", message="no")
    failed = poppy.create(service_body(unique(), unique.domain()))
    status, rows, _ = admin_poppy("GET", "/admin/services", params={"status": "deployed"})
    assert status == 200 and {"project_id": rows[0]["project_id"], "service_id": deployed} in rows
    assert not any(r["service_id"] == failed for r in rows)
    status, rows, _ = admin_poppy("GET", "/admin/services", params={"status": "failed"})
    assert any(r["service_id"] == failed for r in rows)
    status, out, _ = admin_poppy("GET", "/admin/services", params={"status": "sleeping"})
    assert status == 400 and "Unknown status type sleeping" in out["message"]


def test_disable_and_enable_a_projects_services(admin_poppy, fresh_project, unique, mock_driver):
    mine = fresh_project()
    service_id = mine.create(service_body(unique(), unique.domain()))
    status, _, _ = admin_poppy("POST", "/admin/services/action", {"action": "disable",
                                                                  "project_id": mine.project_id})
    assert status == 202
    mine.settle(service_id)
    assert mine.get(service_id)["status"] == "disabled"
    provider_id = mock_driver.find(None, service_id).provider_service_id
    assert mock_driver.spec_of(provider_id).enabled is False
    admin_poppy("POST", "/admin/services/action", {"action": "enable", "project_id": mine.project_id})
    mine.settle(service_id)
    assert mine.get(service_id)["status"] == "deployed"
    assert mock_driver.spec_of(provider_id).enabled is True


def test_action_by_domain_and_delete_action(admin_poppy, fresh_project, unique, mock_driver):
    mine = fresh_project()
    domain = unique.domain()
    first = mine.create(service_body(unique(), domain))
    second = mine.create(service_body(unique(), unique.domain()))
    assert admin_poppy("POST", "/admin/services/action", {"action": "disable", "domain": domain})[0] == 202
    mine.settle(first)
    assert mine.get(first)["status"] == "disabled" and mine.get(second)["status"] == "deployed"
    assert admin_poppy("POST", "/admin/services/action", {"action": "delete",
                                                          "project_id": mine.project_id})[0] == 202
    mine.settle(first), mine.settle(second)
    assert mine("GET", "/services")[1]["services"] == []
    assert mock_driver.find(None, first) is None and mock_driver.find(None, second) is None
    status, out, _ = admin_poppy("POST", "/admin/services/action", {"action": "enable"})
    assert status == 400
    status, out, _ = admin_poppy("POST", "/admin/services/action", {"action": "explode", "project_id": "p"})
    assert status == 400 and "action" in out["message"]


def test_forced_status(admin_poppy, poppy, unique, mock_driver):
    mock_driver.inject("create", message="no")
    service_id = poppy.create(service_body(unique(), unique.domain()))
    project_id = poppy.get(service_id)["project_id"]
    status, _, _ = admin_poppy("POST", "/admin/services/status", {"status": "deployed", "project_id": project_id,
                                                                  "service_id": service_id})
    assert status == 201
    assert poppy.get(service_id)["status"] == "deployed"
    status, _, _ = admin_poppy("POST", "/admin/services/status", {"status": "deployed", "project_id": "other",
                                                                  "service_id": service_id})
    assert status == 404
    status, out, _ = admin_poppy("POST", "/admin/services/status", {"status": "happy", "project_id": project_id,
                                                                    "service_id": service_id})
    assert status == 400 and "status" in out["message"]


def test_service_by_domain(admin_poppy, poppy, unique):
    domain = unique.domain()
    service_id = poppy.create(service_body(unique(), domain))
    status, service, _ = admin_poppy("GET", f"/admin/domains/{domain}")
    assert status == 200 and service["id"] == service_id
    assert admin_poppy("GET", "/admin/domains/www.nobody.example.org")[0] == 404


def test_limits_validation(admin_poppy):
    assert admin_poppy("PUT", "/admin/limits/p1", {"limit": -1})[0] == 400
    assert admin_poppy("PUT", "/admin/limits/p1", {"limit": "ten"})[0] == 400
    assert admin_poppy("PUT", "/admin/limits/bad%20id", {"limit": 1})[0] == 400
    assert admin_poppy("GET", "/admin/limits/never-seen")[1] == {"limit": 20, "project_id": "never-seen"}
