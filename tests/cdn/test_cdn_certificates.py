"""SSL certificates: the project is the token's (never the body's), provisioned by operations."""

from __future__ import annotations

from cdn_helpers import service_body


def test_create_get_delete(poppy, alt_poppy, unique):
    domain = unique.domain("secure")
    status, body, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "san",
                                                         "domain_name": domain})
    assert status == 202 and body is None
    poppy.settle(domain)
    status, certs, _ = poppy("GET", f"/ssl_certificate/{domain}")
    assert status == 200 and len(certs) == 1
    cert = certs[0]
    assert cert["domain_name"] == domain and cert["status"] == "deployed" and cert["cert_type"] == "san"
    assert cert["cert_details"]["mock"]["status"] == "deployed"
    assert alt_poppy("GET", f"/ssl_certificate/{domain}")[0] == 404  # another project's
    assert alt_poppy("DELETE", f"/ssl_certificate/{domain}")[0] == 404
    status, _, _ = poppy("DELETE", f"/ssl_certificate/{domain}")
    assert status == 202
    poppy.settle(domain)
    assert poppy("GET", f"/ssl_certificate/{domain}")[0] == 404


def test_the_project_comes_from_the_token(poppy, alt_poppy, unique):
    domain = unique.domain("secure")
    alt_project = alt_poppy("GET", "/services")  # noqa: F841 - alt exists
    status, body, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "san",
                                                         "domain_name": domain, "project_id": "someone-else"})
    assert status == 400 and body["message"].startswith("project_id:")
    assert poppy("GET", f"/ssl_certificate/{domain}")[0] == 404  # nothing made


def test_a_domain_of_another_projects_service_is_refused(poppy, alt_poppy, unique):
    domain = unique.domain()
    alt_poppy.create(service_body(unique(), domain))
    status, body, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "sni",
                                                         "domain_name": domain})
    assert status == 400 and "has already been taken" in body["message"]


def test_bad_certificate_requests(poppy, unique):
    domain = unique.domain()
    for body, message in (
            ({"flavor_id": "mock", "cert_type": "gold", "domain_name": domain}, "cert_type"),
            ({"flavor_id": "mock", "cert_type": "san"}, "body"),
            ({"flavor_id": "mock", "cert_type": "san", "domain_name": "not a domain"}, "is not valid"),
            ({"flavor_id": "nope", "cert_type": "san", "domain_name": domain}, "flavor_id"),
            ({"flavor_id": "basic", "cert_type": "san", "domain_name": domain}, "provisions certificates")):
        status, out, _ = poppy("POST", "/ssl_certificate", body)
        assert status == 400 and message in out["message"], out
    poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "san", "domain_name": domain})
    status, out, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "san",
                                                        "domain_name": domain})
    assert status == 400 and "exists already" in out["message"]
    poppy.settle(domain)


def test_admin_lists_and_corrects_certificate_status(admin_poppy, poppy, unique):
    domain = unique.domain("secure")
    poppy("POST", "/ssl_certificate", {"flavor_id": "mock", "cert_type": "custom", "domain_name": domain})
    poppy.settle(domain)
    status, rows, _ = admin_poppy("GET", "/admin/certificates", params={"status": "deployed"})
    assert status == 200 and any(r["domain_name"] == domain for r in rows)
    status, _, _ = admin_poppy("PATCH", f"/admin/certificates/{domain}",
                               [{"op": "replace", "path": "status", "value": "failed"}])
    assert status == 204
    assert poppy("GET", f"/ssl_certificate/{domain}")[1][0]["status"] == "failed"
    assert admin_poppy("PATCH", f"/admin/certificates/{domain}",
                       [{"op": "replace", "path": "status", "value": "lost"}])[0] == 400
    assert admin_poppy("PATCH", "/admin/certificates/www.none.example.org",
                       [{"op": "replace", "path": "status", "value": "failed"}])[0] == 404
    assert admin_poppy("GET", "/admin/certificates", params={"status": "nope"})[0] == 400


def test_https_domains_show_their_certificate_status(poppy, unique):
    domain = unique.domain("secure")
    body = service_body(unique(), domain)
    body["domains"] = [{"domain": domain, "protocol": "https", "certificate": "san"},
                       {"domain": "mysite", "protocol": "https", "certificate": "shared"}]
    service_id = poppy.create(body)
    domains = poppy.get(service_id)["domains"]
    assert domains[0]["certificate_status"] == "deployed"
    assert domains[1] == {"domain": "mysite", "protocol": "https", "certificate": "shared",
                          "certificate_status": "deployed"}


def test_https_on_a_provider_without_it_is_refused(poppy, unique):
    body = service_body(unique(), unique.domain(), flavor="basic")
    body["domains"][0].update(protocol="https", certificate="sni")
    status, out, _ = poppy("POST", "/services", body)
    assert status == 400 and out["message"] == "domains[0].protocol: provider basic of flavor basic does not offer https"
