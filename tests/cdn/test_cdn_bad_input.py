"""Bad input: 400 naming the field (never a 500, never a half-made service), and the security
cases Poppy's API tests carried (script and SQL injection strings, huge and deeply nested bodies)."""

from __future__ import annotations

import json

import pytest
from cdn_helpers import service_body

ORIGIN = {"origin": "origin.example.net"}


def body_with(**changes):
    base = service_body("bad-input", "www.badinput.example.org")
    base.update(changes)
    return base


CASES = [
    (body_with(name="ab"), "name"),
    (body_with(name="x" * 257), "name"),
    (body_with(flavor_id=""), "flavor_id"),
    (body_with(domains=[]), "domains"),
    (body_with(domains=[{"domain": f"www.d{i}.example.org"} for i in range(11)]), "domains"),
    (body_with(domains=[{"domain": "ab"}]), "domains[0].domain"),
    (body_with(domains=[{"domain": "www.ünï.example.org"}]), "domains[0].domain"),
    (body_with(domains=[{"domain": "www.x.example.org", "protocol": "ftp"}]), "domains[0].protocol"),
    (body_with(domains=[{"domain": "www.x.example.org", "protocol": "https"}]), "domains[0].certificate"),
    (body_with(domains=[{"domain": "www.x.example.org", "protocol": "https", "certificate": "gold"}]),
     "domains[0].certificate"),
    (body_with(domains=[{"domain": "www.x.example.org", "protocol": "https", "certificate": "shared"}]),
     "domains[0].domain"),
    (body_with(domains=[{"domain": "example.org"}]), "root domain"),
    (body_with(domains=[{"domain": "example.co.uk"}]), "root domain"),
    (body_with(domains=[{"domain": "www.x.example.org"}, {"domain": "WWW.X.example.org"}]), "domains[1].domain"),
    (body_with(domains=[{"domain": "www.x.example.org", "extra": 1}]), "domains[0]"),
    (body_with(origins=[]), "origins"),
    (body_with(origins=[{"origin": "www.badinput.example.org"}]), "Domains and origins cannot be the same"),
    (body_with(origins=[{"origin": "not a host"}]), "origins[0].origin"),
    (body_with(origins=[{"origin": "o.example.net", "port": 0}]), "origins[0].port"),
    (body_with(origins=[{"origin": "o.example.net", "ssl": "yes"}]), "origins[0].ssl"),
    (body_with(origins=[ORIGIN, ORIGIN]), "origins[1]"),
    (body_with(origins=[ORIGIN, {"origin": "p.example.net", "rules": [{"name": "i", "request_url": "/*"}]}]),
     "origins[1].rules[0].request_url"),
    (body_with(origins=[{"origin": "o.example.net", "hostheadertype": "custom"}]), "origins[0].hostheadervalue"),
    (body_with(origins=[{"origin": "o.example.net", "hostheadertype": "custom", "hostheadervalue": "bad value"}]),
     "origins[0].hostheadervalue"),
    (body_with(origins=[{"origin": "o.example.net", "hostheadertype": "shadow"}]), "origins[0].hostheadertype"),
    (body_with(caching=[{"name": "d", "ttl": -1}]), "caching[0].ttl"),
    (body_with(caching=[{"name": "d", "ttl": 31536001}]), "caching[0].ttl"),
    (body_with(caching=[{"name": "d", "ttl": 10}, {"name": "e", "ttl": 10}]), "caching[1].rules"),
    (body_with(caching=[{"name": "a", "ttl": 1, "rules": [{"name": "i", "request_url": "/i"}]},
                        {"name": "b", "ttl": 2, "rules": [{"name": "i", "request_url": "i"}]}]),
     "caching[1].rules[0].request_url"),
    (body_with(caching=[{"name": f"c{i}", "ttl": 1, "rules": [{"name": "i", "request_url": f"/{i}"}]}
                        for i in range(60)]), "caching"),
    (body_with(restrictions=[{"name": "r", "rules": [{"name": "a", "referrer": "not a host"}]}]),
     "restrictions[0].rules[0].referrer"),
    (body_with(restrictions=[{"name": "r", "rules": [{"name": "a", "client_ip": "10.0.0.300/8"}]}]),
     "restrictions[0].rules[0].client_ip"),
    (body_with(restrictions=[{"name": "r", "rules": [{"name": "a", "geography": "Atlantis"}]}]),
     "restrictions[0].rules[0].geography"),
    (body_with(restrictions=[{"name": "r", "rules": [{"name": "a"}]}]), "restrictions[0].rules[0]"),
    (body_with(restrictions=[{"name": "r", "rules": [{"name": "a", "referrer": "a.example.net",
                                                       "client_ip": "10.0.0.0/8"}]}]), "restrictions[0].rules[0]"),
    (body_with(restrictions=[
        {"name": "w", "access": "whitelist", "rules": [{"name": "a", "referrer": "a.example.net"}]},
        {"name": "b", "access": "blacklist", "rules": [{"name": "b", "referrer": "b.example.net"}]}]),
     "Cannot blacklist and whitelist referrer on /*"),
    (body_with(restrictions=[{"name": "r", "access": "greylist", "rules": [{"name": "a", "referrer": "a.e.net"}]}]),
     "restrictions[0].access"),
    (body_with(log_delivery={"enabled": "yes"}), "log_delivery.enabled"),
    (body_with(log_delivery={}), "log_delivery"),
    (body_with(unknown=1), "body"),
    ([1, 2, 3], "body"),
    ("a string", "body"),
]


@pytest.mark.parametrize("body, field", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_service_bodies_are_400_naming_the_field(poppy, body, field, cloud):
    status, out, _ = poppy("POST", "/services", body)
    assert status == 400, out
    assert field in out["message"], out


def test_nothing_is_made_by_a_refused_body(fresh_project):
    mine = fresh_project()
    status, _, _ = mine("POST", "/services", body_with(domains=[{"domain": "example.org"}]))
    assert status == 400
    assert mine("GET", "/services")[1]["services"] == []


@pytest.mark.parametrize("raw", [
    b"",
    b"{",
    b"not json",
    b"[" * 2500 + b'"test"' + b"]" * 2500,
    b"{" + b"".join(b'"t%d":{' % k for k in range(900)) + b'"t":"t"' + b"}" * 901,
    json.dumps(service_body("mysite", "www.enc.example.org")).encode("utf-16"),
])
def test_malformed_and_deeply_nested_bodies_are_400(poppy, raw):
    status, out, _ = poppy("POST", "/services", raw=raw)
    assert status == 400, out
    assert out["message"]


def test_a_huge_body_is_413(poppy):
    domains = [{"domain": f"w.t{k}.example.org"} for k in range(1, 30000)]
    status, out, _ = poppy("POST", "/services", body_with(domains=domains))
    assert status == 413, out


XSS = ["<script>alert('xss')</script>", "//--></SCRIPT>\">'><SCRIPT>alert(String.fromCharCode(88,83,83))</SCRIPT>",
       "<IMG SRC=javascript:alert('XSS')>"]
SQL = ["' or 1=1 --", "'; DROP TABLE cdn_service; --", "\" OR \"\"=\"", "1; SELECT * FROM token"]


@pytest.mark.parametrize("name", XSS + SQL)
def test_script_and_sql_strings_in_names_are_stored_verbatim_and_harmless(poppy, unique, name):
    service_id = poppy.create(service_body(name + unique(""), unique.domain()))
    service = poppy.get(service_id)
    assert service["name"].startswith(name)
    status, listing, headers = poppy("GET", "/services", params={"limit": "20"})
    assert status == 200 and headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("value", XSS + SQL)
def test_script_and_sql_strings_in_domains_and_origins_are_400(poppy, unique, value):
    status, out, _ = poppy("POST", "/services", service_body(unique(), value))
    assert status == 400 and "domains[0].domain" in out["message"]
    status, out, _ = poppy("POST", "/services", service_body(unique(), unique.domain(), origin=value))
    assert status == 400 and "origins[0]" in out["message"]


@pytest.mark.parametrize("value", XSS + SQL + ["1" * 3500])
def test_injection_strings_as_ids_are_400_or_404(poppy, value):
    status, out, _ = poppy("GET", f"/services/{value.replace('/', '%2F')}")
    assert status in (400, 404) and out["message"]


def test_sql_in_a_marker_is_400(poppy):
    status, out, _ = poppy("GET", "/services", params={"marker": "' or 1=1 --"})
    assert status == 400
