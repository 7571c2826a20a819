"""The CDN on a live ``overcast serve`` (SQLite, and PostgreSQL when OVERCAST_TEST_POSTGRES_URL is
set), found in the catalog and driven through keystoneauth1 (a real client, unmodified): a service
on a real Varnish edge made, fetched, purged and deleted; the operations run in the server's own
workers."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
import uuid

import pytest

from overcast.testing.cdn_servers import VarnishServer
from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database
from overcast.testing.web import FileServer

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(not shutil.which("varnishd", path="/usr/sbin:/usr/bin:/usr/local/sbin"),
                                 reason="varnishd is not installed (.ci/run installs Debian's varnish)")]

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="module")
def varnish():
    server = VarnishServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def origin():
    with FileServer({"/index.html": b"live edge"}) as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URL else []))
def server(request, tmp_path_factory, varnish):
    work = tmp_path_factory.mktemp(f"cdn-live-{request.param}")
    config = work / "overcast.toml"
    options = "\n".join(f"{k} = {json.dumps(v)}" for k, v in varnish.options().items())
    config.write_text(f"[cdn.providers.edge]\n{options}\n\n[cdn.providers.mock]\ndriver = \"mock\"\n\n"
                      "[cdn.flavors.edge]\nproviders = [\"edge\"]\n\n[cdn.flavors.both]\nproviders = [\"edge\", \"mock\"]\n")
    env, database_url = {}, None
    if request.param == "postgresql":
        database_url = create_postgres_database(POSTGRES_ADMIN_URL)
        env["OVERCAST_DATABASE_URL"] = database_url
    live = LiveServer(work / "data", env=env, config=config)
    try:
        live.start()
        yield live
    finally:
        live.stop()
        if database_url:
            drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


@pytest.fixture(scope="module")
def cdn(server):
    """A keystoneauth session for the demo user, and the CDN endpoint it found in the catalog."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth = server.cloud("overcast")["auth"]
    plugin = v3.Password(auth_url=auth["auth_url"], username=auth["username"], password=auth["password"],
                         project_name=auth["project_name"], user_domain_name=auth.get("user_domain_name", "Default"),
                         project_domain_name=auth.get("project_domain_name", "Default"))
    sess = ks_session.Session(auth=plugin)
    endpoint = sess.get_endpoint(service_type="cdn", interface="public")
    return sess, endpoint


def fetch(varnish, host):
    conn = http.client.HTTPConnection("127.0.0.1", varnish.port, timeout=10)
    try:
        conn.request("GET", "/index.html", headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("X-Cache")
    finally:
        conn.close()


def until(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)
    return value


def test_the_catalog_names_the_cdn(server, cdn):
    _, endpoint = cdn
    assert endpoint == f"{server.base_url}/cdn/v1.0"


def test_a_service_on_the_edge_through_the_live_server(cdn, varnish, origin, server):
    sess, endpoint = cdn
    flavors = sess.get(f"{endpoint}/flavors").json()["flavors"]
    assert {"edge", "both"} <= {f["id"] for f in flavors}
    domain = f"www.live{uuid.uuid4().hex[:8]}.example.org"
    resp = sess.post(f"{endpoint}/services", json={
        "name": f"live-{uuid.uuid4().hex[:8]}", "flavor_id": "both", "domains": [{"domain": domain}],
        "origins": [{"origin": "127.0.0.1", "port": origin.port}]}, raise_exc=False)
    assert resp.status_code == 202, resp.text
    location = resp.headers["Location"]
    service = until(lambda: (lambda s: s if s["status"] in ("deployed", "failed") else None)(sess.get(location).json()))
    assert service["status"] == "deployed", service
    assert {link["rel"] for link in service["links"]} >= {"self", "flavor", "access_url"}
    assert fetch(varnish, domain)[::2] == (200, "MISS")
    assert fetch(varnish, domain) == (200, b"live edge", "HIT")
    assert sess.delete(f"{location}/assets?url=/index.html", raise_exc=False).status_code == 202
    until(lambda: fetch(varnish, domain)[2] == "MISS")
    assert sess.delete(location, raise_exc=False).status_code == 202
    until(lambda: sess.get(location, raise_exc=False).status_code == 404)
    assert fetch(varnish, domain)[0] == 404
    listing = sess.get(f"{endpoint}/services?limit=20").json()
    assert all(s["id"] != service["id"] for s in listing["services"])
    assert "An unexpected error" not in server.output()


def test_overcast_serve_stops_the_edge_it_started(tmp_path):
    """A managed edge (the embedded default's kind) is started on first use by a server process and
    stopped with ``overcast serve``, log daemons included: nothing is left running."""
    from overcast.drivers.cdn.varnish.driver import _alive
    from overcast.testing.cdn_servers import free_port

    config = tmp_path / "overcast.toml"
    config.write_text(f'[cdn.providers.edge]\ndriver = "varnish"\nmanage = true\nlisten = "127.0.0.1:{free_port()}"\n'
                      f'admin = "127.0.0.1:{free_port()}"\n[cdn.flavors.edge]\nproviders = ["edge"]\n')
    live = LiveServer(tmp_path / "data", config=config)
    live.start()
    edge_dir = tmp_path / "data" / "cdn" / "edge"
    try:
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        auth = live.cloud("overcast")["auth"]
        sess = ks_session.Session(auth=v3.Password(
            auth_url=auth["auth_url"], username=auth["username"], password=auth["password"],
            project_name=auth["project_name"], user_domain_name="Default", project_domain_name="Default"))
        endpoint = sess.get_endpoint(service_type="cdn", interface="public")
        resp = sess.post(f"{endpoint}/services", json={
            "name": "managed", "flavor_id": "edge", "domains": [{"domain": "www.managed.example.org"}],
            "origins": [{"origin": "127.0.0.1", "port": 9}], "log_delivery": {"enabled": True}}, raise_exc=False)
        assert resp.status_code == 202, resp.text
        until(lambda: sess.get(resp.headers["Location"]).json()["status"] == "deployed")
        pids = [int(p.read_text()) for p in [edge_dir / "varnishd.pid", *sorted((edge_dir / "loggers").glob("*.pid"))]]
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    finally:
        live.stop()
    until(lambda: not any(_alive(pid) for pid in pids), timeout=30)
