"""The varnish provider end to end: varnishd and an origin on loopback, a service made through
the API, fetched through Varnish with its Host header; a hit on the second fetch, a purge and a
miss, a blacklisted referrer refused, the origin's Host header, VCL swaps while traffic flows,
request counts, access logs."""

from __future__ import annotations

import http.client
import shutil
import threading
import time

import falcon.testing
import pytest
from cdn_helpers import Poppy, service_body
from tests.cdn.conftest import cdn_settings

from overcast.app import create_app
from overcast.bootstrap import prepare
from overcast.core.cdn.operations import setup_for
from overcast.core.compute import build_compute
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.ops.engine import OpsSettings
from overcast.ops.runtime import OpsRuntime
from overcast.testing.cdn_servers import VarnishServer
from overcast.testing.web import FileServer
from tests.conftest import Cloud

pytestmark = pytest.mark.skipif(not shutil.which("varnishd", path="/usr/sbin:/usr/bin:/usr/local/sbin"),
                                reason="varnishd is not installed (.ci/run installs Debian's varnish)")


@pytest.fixture(scope="module")
def varnish():
    server = VarnishServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def origin():
    with FileServer({"/index.html": b"<h1>hello</h1>", "/images/a.png": b"PNG" * 100,
                     "/nocache": b"fresh"}) as server:
        yield server


@pytest.fixture(scope="module")
def edge_cloud(tmp_path_factory, varnish):
    settings = cdn_settings(tmp_path_factory.mktemp("edge") / "data",
                            providers={"edge": varnish.options()}, flavors={"edge": {"providers": ["edge"]}})
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    accounts = prepare(identity, compute, images)
    app = create_app(settings, identity, compute, images)
    runtime = OpsRuntime(app.cdn.store, settings, OpsSettings(backoff_base=0.05, backoff_max=0.2), threads=2,
                         setups=[setup_for(app.cdn, poll_seconds=0.05)])
    runtime.start(reconcile=False)
    cloud = Cloud(client=falcon.testing.TestClient(app), app=app,
                  passwords={a.username: a.password for a in accounts})
    yield cloud
    runtime.stop()
    app.cdn.close()
    compute.close()
    identity.store.dispose()


@pytest.fixture(scope="module")
def edge(edge_cloud):
    return Poppy(edge_cloud, edge_cloud.token("demo", "demo"))


def fetch(varnish, host: str, path: str = "/index.html", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", varnish.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def host_seen(server, path: str) -> str:
    """The Host header of the last request the origin got for ``path``."""
    headers = [h for p, h in server.requests if p == path][-1]
    return {k.lower(): v for k, v in headers.items()}["host"]


def origin_hits(origin, path: str) -> int:
    return sum(1 for p, _ in origin.requests if p == path)


def test_cache_hit_purge_miss_and_a_refused_referrer(edge, varnish, origin):
    domain = "www.edge-one.example.org"
    body = service_body("edge-one", domain, origin="127.0.0.1", flavor="edge")
    body["origins"][0]["port"] = origin.port
    body["restrictions"] = [{"name": "no-bad", "access": "blacklist",
                             "rules": [{"name": "bad", "referrer": "bad.example.net"}]}]
    service_id = edge.create(body)
    service = edge.get(service_id)
    assert service["status"] == "deployed", service
    access = next(link for link in service["links"] if link["rel"] == "access_url")
    assert access["provider_url"] == varnish.listen
    before = origin_hits(origin, "/index.html")
    status, data, headers = fetch(varnish, domain)
    assert (status, data, headers["x-cache"]) == (200, b"<h1>hello</h1>", "MISS")
    status, data, headers = fetch(varnish, domain)
    assert (status, headers["x-cache"]) == (200, "HIT")
    assert origin_hits(origin, "/index.html") == before + 1
    # the origin got the service's domain as Host (hostheadertype domain)
    assert host_seen(origin, "/index.html") == domain
    # internal headers never reach the client
    assert not any(k.startswith("x-overcast") for k in headers)

    assert edge("DELETE", f"/services/{service_id}/assets", params={"url": "/index.html"})[0] == 202
    edge.settle(service_id)
    status, _, headers = fetch(varnish, domain)
    assert (status, headers["x-cache"]) == (200, "MISS")
    assert origin_hits(origin, "/index.html") == before + 2

    status, _, _ = fetch(varnish, domain, headers={"Referer": "https://www.bad.example.net/page"})
    assert status == 403
    status, _, _ = fetch(varnish, domain, headers={"Referer": "https://good.example.net/page"})
    assert status == 200
    assert fetch(varnish, "www.nobody.example.org")[0] == 404


def test_path_rules_origin_host_headers_and_ttls(edge, varnish, origin):
    domain = "www.edge-two.example.org"
    images = FileServer({"/images/a.png": b"from the image origin"})
    body = service_body("edge-two", domain, origin="127.0.0.1", flavor="edge")
    body["origins"] = [
        {"origin": "127.0.0.1", "port": origin.port, "hostheadertype": "custom", "hostheadervalue": "origin.example.net"},
        {"origin": "127.0.0.1", "port": images.port, "hostheadertype": "origin",
         "rules": [{"name": "images", "request_url": "/images/*"}]}]
    body["caching"] = [{"name": "none", "ttl": 0, "rules": [{"name": "fresh", "request_url": "/nocache"}]}]
    try:
        service_id = edge.create(body)
        assert edge.get(service_id)["status"] == "deployed"
        assert fetch(varnish, domain, "/images/a.png")[1] == b"from the image origin"
    finally:
        images.stop()
    assert host_seen(images, "/images/a.png") == f"127.0.0.1:{images.port}"
    fetch(varnish, domain, "/index.html")
    assert host_seen(origin, "/index.html") == "origin.example.net"
    before = origin_hits(origin, "/nocache")
    fetch(varnish, domain, "/nocache")
    fetch(varnish, domain, "/nocache")
    assert origin_hits(origin, "/nocache") == before + 2  # ttl 0: never cached


def test_purge_all_and_a_prefix(edge, varnish, origin):
    domain = "www.edge-three.example.org"
    body = service_body("edge-three", domain, origin="127.0.0.1", flavor="edge")
    body["origins"][0]["port"] = origin.port
    service_id = edge.create(body)
    for path in ("/index.html", "/images/a.png"):
        fetch(varnish, domain, path)
        assert fetch(varnish, domain, path)[2]["x-cache"] == "HIT"
    edge("DELETE", f"/services/{service_id}/assets", params={"url": "/images/*"})
    edge.settle(service_id)
    assert fetch(varnish, domain, "/images/a.png")[2]["x-cache"] == "MISS"
    assert fetch(varnish, domain, "/index.html")[2]["x-cache"] == "HIT"
    edge("DELETE", f"/services/{service_id}/assets", params={"all": "true"})
    edge.settle(service_id)
    assert fetch(varnish, domain, "/index.html")[2]["x-cache"] == "MISS"


def test_client_ip_whitelist_and_disable(edge, edge_cloud, varnish, origin):
    domain = "www.edge-four.example.org"
    body = service_body("edge-four", domain, origin="127.0.0.1", flavor="edge")
    body["origins"][0]["port"] = origin.port
    body["restrictions"] = [{"name": "lan-only", "access": "whitelist",
                             "rules": [{"name": "lan", "client_ip": "10.0.0.0/8"}]}]
    service_id = edge.create(body)
    assert fetch(varnish, domain)[0] == 403  # we come from 127.0.0.1
    edge("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/restrictions/0/rules/0/client_ip",
                                               "value": "127.0.0.0/8"}])
    edge.settle(service_id)
    assert fetch(varnish, domain)[0] == 200
    admin = Poppy(edge_cloud, edge_cloud.token("admin", "admin"))
    status, out, _ = admin("POST", "/admin/services/action", {"action": "disable", "domain": domain})
    assert status == 202, out
    edge.settle(service_id)
    assert edge.get(service_id)["status"] == "disabled"
    assert fetch(varnish, domain)[0] == 403


def test_geography_is_refused_without_a_geoip_source(edge):
    body = service_body("edge-geo", "www.edge-geo.example.org", flavor="edge")
    body["restrictions"] = [{"name": "fr", "access": "blacklist", "rules": [{"name": "fr", "geography": "FR"}]}]
    status, out, _ = edge("POST", "/services", body)
    assert status == 400 and "does not offer geo restrictions" in out["message"]


def test_an_https_origin_fails_with_the_providers_message(edge):
    body = service_body("edge-tls", "www.edge-tls.example.org", origin="127.0.0.1", flavor="edge")
    body["origins"][0].update(ssl=True, port=443)
    service_id = edge.create(body)
    service = edge.get(service_id)
    assert service["status"] == "failed"
    assert "cannot fetch from an https origin" in service["errors"][0]["message"]
    edge("DELETE", f"/services/{service_id}")
    edge.settle(service_id)


def test_vcl_swaps_drop_no_request(edge, edge_cloud, varnish, origin):
    domain = "www.edge-five.example.org"
    body = service_body("edge-five", domain, origin="127.0.0.1", flavor="edge")
    body["origins"][0]["port"] = origin.port
    service_id = edge.create(body)
    results: list[int] = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            results.append(fetch(varnish, domain)[0])

    thread = threading.Thread(target=traffic)
    thread.start()
    driver = edge_cloud.app.cdn.driver("edge")
    durations = []
    try:
        for ttl in range(10, 16):
            started = time.perf_counter()
            edge("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/caching/0/ttl", "value": ttl}])
            edge.settle(service_id)
            durations.append(time.perf_counter() - started)
    finally:
        stop.set()
        thread.join()
    assert results and set(results) == {200}, set(results)
    assert "set req.http.X-Overcast-TTL = \"15\"" in driver.vcl()


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_request_counts_and_access_logs(edge, edge_cloud, varnish, origin):
    domain = "www.edge-six.example.org"
    body = service_body("edge-six", domain, origin="127.0.0.1", flavor="edge", log_delivery={"enabled": True})
    body["origins"][0]["port"] = origin.port
    service_id = edge.create(body)
    driver = edge_cloud.app.cdn.driver("edge")
    log = driver.service_log(service_id)

    def lines():
        return log.read_text().splitlines() if log.exists() else []

    def requests():
        return edge("GET", f"/services/{service_id}/analytics")[1]["domains"][0]["requestCount"]

    # varnishncsa attaches to varnishd's log a moment after it starts: probe until the new
    # service's logger sees traffic, and until the figures (whose logger runs since the first
    # service) count every probe
    probes = []

    def logged_one():
        probes.append(fetch(varnish, domain, "/probe")[0])
        return len(lines()) > 0

    _until(logged_one)
    _until(lambda: requests() == len(probes))
    before_lines, before_count = len(lines()), requests()
    for _ in range(3):
        assert fetch(varnish, domain)[0] == 200
    _until(lambda: len(lines()) == before_lines + 3 and requests() == before_count + 3)
    new = lines()[before_lines:]
    assert all(f"GET http://{domain}/index.html HTTP/1.1\" 200 14 " in line for line in new), new
    status, report, _ = edge("GET", f"/services/{service_id}/analytics", params={"metricType": "bandwidthOut"})
    assert report["domains"][0]["bandwidthOut"] >= 3 * len(b"<h1>hello</h1>")
    edge("DELETE", f"/services/{service_id}")
    edge.settle(service_id)
    assert fetch(varnish, domain)[0] == 404
    assert not driver._logger_pidfile(f"service-{service_id}").exists()  # its logger stopped with it
