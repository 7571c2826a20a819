"""The [cdn] configuration, the embedded default (varnish when varnishd is on the PATH, else mock),
the catalog entry, and a managed Varnish edge that Overcast starts and stops itself."""

from __future__ import annotations

import http.client
import os
import shutil
from pathlib import Path

import pytest

from overcast.config import ConfigError, load_settings
from overcast.core.cdn import build_cdn, describe_default, flavor_settings, provider_settings
from overcast.core.cdn import document
from overcast.drivers.cdn.varnish.driver import VarnishCdnDriver, _alive
from overcast.testing.cdn_servers import free_port
from overcast.testing.web import FileServer

ENV = {"PATH": os.environ.get("PATH", "")}


def test_providers_and_flavors_from_toml(tmp_path):
    config = tmp_path / "overcast.toml"
    config.write_text("""
[cdn]
operator_domain = "cdn.example.net"
service_limit = 5

[cdn.providers.cf]
driver = "cloudfront"
aws_access_key_id = "env:CF_KEY"
aws_secret_access_key = "file:%s"

[cdn.providers.edge]
driver = "varnish"
listen = "127.0.0.1:7081"

[cdn.flavors.global]
providers = ["cf", "edge"]
""" % (tmp_path / "secret"))
    (tmp_path / "secret").write_text("s3cr3t\n")
    settings = load_settings(config, environ={"CF_KEY": "AKIA-TEST", **ENV})
    assert settings.cdn.operator_domain == "cdn.example.net" and settings.cdn.service_limit == 5
    cf, edge = settings.cdn.providers
    assert (cf.name, cf.driver, cf.options["aws_access_key_id"], cf.options["aws_secret_access_key"]) == \
           ("cf", "cloudfront", "AKIA-TEST", "s3cr3t")
    assert "s3cr3t" not in repr(settings) and "AKIA-TEST" not in repr(cf)
    assert flavor_settings(settings)[0].providers == ("cf", "edge")
    assert provider_settings(settings) == settings.cdn.providers
    assert describe_default(settings) == "providers cf (cloudfront), edge (varnish)"
    env = {"OVERCAST_CDN_SERVICE_LIMIT": "7", **ENV}
    assert load_settings(config, environ={**env, "CF_KEY": "x"}).cdn.service_limit == 7


@pytest.mark.parametrize("text, message", [
    ("[cdn.providers.x]\nlisten = 1\n", "needs a driver"),
    ("[cdn.providers.x]\ndriver = 'mock'\n[cdn.flavors.f]\nproviders = ['y']\n", r"names provider\(s\) y"),
    ("[cdn.flavors.f]\nproviders = []\n", "needs providers"),
    ("[cdn]\nbogus = 1\n", "has no setting 'bogus'"),
])
def test_bad_cdn_configuration(tmp_path, text, message):
    config = tmp_path / "overcast.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ=ENV)


def test_the_embedded_default_is_varnish_when_varnishd_is_on_the_path(tmp_path, monkeypatch):
    settings = load_settings(data_dir=tmp_path, environ=ENV)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "varnishd"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    (provider,) = provider_settings(settings)
    assert (provider.name, provider.driver, provider.options) == ("varnish", "varnish", {"manage": True})
    assert flavor_settings(settings)[0].id == "default" and flavor_settings(settings)[0].providers == ("varnish",)
    assert describe_default(settings).startswith("provider varnish: a local Varnish edge (varnishd found at ")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (provider,) = provider_settings(settings)
    assert (provider.name, provider.driver) == ("mock", "mock")
    assert describe_default(settings).startswith("provider mock (varnishd is not on the PATH")


def test_a_provider_whose_driver_offers_no_cdn_is_refused(tmp_path):
    from overcast.drivers.registry import DriverConfigError

    settings = load_settings(data_dir=tmp_path, environ=ENV, cdn={"providers": {"x": {"driver": "noop"}}})
    with pytest.raises(DriverConfigError, match="offers no CDN"):
        build_cdn(settings, store=None).driver("x")


def test_the_catalog_lists_the_cdn_in_every_region(tmp_path):
    from overcast.core.identity.catalog import service_url

    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "noop"\n[clouds.second]\ndriver = "noop"\n')
    settings = load_settings(config, environ=ENV)
    assert {service_url(settings, "cdn", "/cdn/v1.0", region) for region in settings.regions} == \
           {f"{settings.public_url}/cdn/v1.0"}


@pytest.mark.skipif(not shutil.which("varnishd", path="/usr/sbin:/usr/bin"), reason="varnishd is not installed")
def test_a_managed_edge_is_started_and_stopped_by_the_driver(tmp_path):
    port = free_port()
    driver = VarnishCdnDriver(tmp_path / "edge", manage=True, listen=f"127.0.0.1:{port}",
                              admin=f"127.0.0.1:{free_port()}")
    assert not driver._cli.ping()  # nothing is started at construction
    with FileServer({"/": b"managed"}) as origin:
        doc = document.validate({"name": "managed", "flavor_id": "default", "domains": [{"domain": "www.m.example.org"}],
                                 "origins": [{"origin": "127.0.0.1", "port": origin.port}]})
        try:
            info = driver.create(None, document.to_spec("11111111-2222-4333-8444-555555555555", "p", doc))
            pid = int(Path(driver.pidfile).read_text())
            assert _alive(pid) and driver.is_alive()
            assert info.access_urls[0].provider_url == f"127.0.0.1:{port}"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/", headers={"Host": "www.m.example.org"})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"managed")
            conn.close()
        finally:
            driver.close()
        assert not _alive(pid)
    # /health of a managed edge starts it (it is part of Overcast); close stops it again
    try:
        assert driver.is_alive() is True
        pid = int(Path(driver.pidfile).read_text())
    finally:
        driver.close()
    assert not _alive(pid)
