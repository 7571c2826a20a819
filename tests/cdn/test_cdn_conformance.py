"""The CDN conformance kit against all four providers: mock (as configured by default and with
delays, so every wait really polls), Varnish (a real varnishd), CloudFront (moto_server, with its
state manager making a deployment take a second) and Fastly (mimic's Fastly emulator)."""

from __future__ import annotations

import shutil

import pytest

from overcast.drivers.registry import load_driver
from overcast.testing.cdn_servers import MIMIC_VENV, MimicServer, MotoServer, VarnishServer
from overcast.testing.conformance_cdn import CdnDriverConformance
from overcast.testing.web import FileServer

HAS_VARNISH = bool(shutil.which("varnishd", path="/usr/sbin:/usr/bin:/usr/local/sbin"))
HAS_MIMIC = (MIMIC_VENV / "bin" / "twistd").exists()


class TestMockConformance(CdnDriverConformance):
    @pytest.fixture
    def cdn_driver(self, tmp_path):
        bundle = load_driver("mock", {}, tmp_path)
        yield bundle.cdn
        bundle.close()


class TestMockWithDelaysConformance(CdnDriverConformance):
    poll_interval = 0.05

    @pytest.fixture
    def cdn_driver(self, tmp_path):
        bundle = load_driver("mock", {"deploy_seconds": 0.2, "delete_seconds": 0.2, "purge_seconds": 0.2,
                                      "certificate_seconds": 0.2}, tmp_path)
        yield bundle.cdn
        bundle.close()


@pytest.fixture(scope="module")
def varnish():
    if not HAS_VARNISH:
        pytest.skip("varnishd is not installed (.ci/run installs Debian's varnish)")
    server = VarnishServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def origin():
    with FileServer({"/index.html": b"conformance"}) as server:
        yield server


class TestVarnishConformance(CdnDriverConformance):
    @pytest.fixture(autouse=True)
    def _origin(self, origin):
        self.origin = ("127.0.0.1", origin.port)

    @pytest.fixture
    def cdn_driver(self, tmp_path, varnish):
        options = varnish.options()
        options.pop("driver")
        bundle = load_driver("varnish", options, tmp_path)
        yield bundle.cdn
        bundle.close()


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    server.set_transition("cloudfront::distribution", {"progression": "time", "seconds": 1})
    yield server
    server.stop()


class TestCloudFrontConformance(CdnDriverConformance):
    poll_interval = 0.2

    @pytest.fixture
    def cdn_driver(self, tmp_path, moto):
        bundle = load_driver("cloudfront", {"endpoint_url": moto.url, "aws_access_key_id": "testing",
                                            "aws_secret_access_key": "testing"}, tmp_path)
        yield bundle.cdn
        bundle.close()


@pytest.fixture(scope="module")
def mimic():
    if not HAS_MIMIC:
        pytest.skip(f"mimic's virtual environment is missing ({MIMIC_VENV}); .ci/run makes it")
    server = MimicServer()
    yield server
    server.stop()


class TestFastlyConformance(CdnDriverConformance):
    emulator_gaps = {
        "test_purge_a_path": "mimic 2.2.0 has no purge endpoint (Fastly's POST /purge/<url>)",
        "test_purge_everything": "mimic 2.2.0 has no purge endpoint (Fastly's POST /service/<id>/purge_all)",
        "test_deleting_a_missing_id_succeeds": "mimic 2.2.0 answers 500 (a KeyError) for an unknown service where "
                                               "Fastly answers 404",
        "test_get_of_a_missing_service_is_not_found": "mimic 2.2.0 answers 500 (a KeyError) for an unknown service "
                                                      "where Fastly answers 404",
        "test_update_of_a_missing_service_is_not_found": "mimic 2.2.0 answers 500 (a KeyError) for an unknown "
                                                         "service where Fastly answers 404",
    }

    @pytest.fixture
    def cdn_driver(self, tmp_path, mimic):
        bundle = load_driver("fastly", {"api_url": mimic.fastly_url, "api_key": "conformance"}, tmp_path)
        yield bundle.cdn
        bundle.close()
