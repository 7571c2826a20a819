"""The CDN conformance kit itself: it must catch the mistakes it exists for (run in a sub-session)."""

from __future__ import annotations

import textwrap
import uuid

from tests.drivers.test_conformance_kit import run_pytest

HEADER = textwrap.dedent("""
    import pytest
    from overcast.drivers.cdn.base import Capability
    from overcast.drivers.cdn.mock import MockCdnDriver
    from overcast.testing.conformance_cdn import CdnDriverConformance
""")


def run_kit(tmp_path, driver_source: str, *args: str):
    module = tmp_path / f"test_cdn_kit_{uuid.uuid4().hex[:12]}.py"
    module.write_text(HEADER + textwrap.dedent(driver_source) + textwrap.dedent("""
        class TestKit(CdnDriverConformance):
            deploy_timeout = 5
            @pytest.fixture
            def cdn_driver(self, tmp_path):
                driver = Driver(tmp_path / "mock.db")
                yield driver
                driver.close()
    """))
    return run_pytest(tmp_path, str(module), *args)


def test_the_mock_passes(tmp_path):
    result = run_kit(tmp_path, "class Driver(MockCdnDriver):\n    pass\n")
    assert result.counts["failed"] == 0 and result.counts["passed"] >= 15, result.text


def test_signature_drift_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(MockCdnDriver):
            def purge(self, provider_service_id, request, ctx=None):   # Poppy-style drift
                return super().purge(ctx, provider_service_id, request)
    """, "-k", "signatures")
    result.assert_outcomes(failed=1)
    result.output_matches("purge")


def test_a_capability_declared_without_its_methods_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        from overcast.drivers.cdn.base import CdnDriver
        class Driver(MockCdnDriver):
            metrics = CdnDriver.metrics
    """, "-k", "capabilities_match")
    result.assert_outcomes(failed=1)
    result.output_matches("analytics declared")


def test_an_exception_that_is_not_a_driver_error_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(MockCdnDriver):
            def get(self, ctx, provider_service_id):
                if provider_service_id.startswith("overcast-conformance-missing"):
                    raise KeyError(provider_service_id)
                return super().get(ctx, provider_service_id)
    """, "-k", "get_of_a_missing")
    result.assert_outcomes(failed=1)
    result.output_matches("Driver.get raised builtins.KeyError.*DriverError")


def test_a_create_that_is_not_idempotent_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        import dataclasses, uuid
        class Driver(MockCdnDriver):
            def create(self, ctx, spec):
                return super().create(ctx, dataclasses.replace(spec, service_id=str(uuid.uuid4())))
    """, "-k", "create_is_idempotent")
    result.assert_outcomes(failed=1)


def test_a_delete_that_orphans_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(MockCdnDriver):
            def delete(self, ctx, provider_service_id):
                return True   # claims success, leaves the service on the provider
    """, "-k", "delete_then")
    result.assert_outcomes(failed=1)


def test_a_deployment_that_never_finishes_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(MockCdnDriver):
            def __init__(self, path):
                super().__init__(path, deploy_seconds=3600)
    """, "-k", "reaches_deployed")
    result.assert_outcomes(failed=1)
    result.output_matches("not done within")


def test_a_certificate_answer_with_key_material_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        import dataclasses
        class Driver(MockCdnDriver):
            def get_certificate(self, ctx, domain):
                info = super().get_certificate(ctx, domain)
                return dataclasses.replace(info, details={"key": "-----BEGIN PRIVATE KEY-----"})
    """, "-k", "key_material")
    result.assert_outcomes(failed=1)


def test_a_refused_certificate_type_that_is_half_made_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        from overcast.drivers.errors import InvalidRequest
        class Driver(MockCdnDriver):
            certificate_types = ("san", "sni")
            def create_certificate(self, ctx, request):
                info = super().create_certificate(ctx, request)   # made, then refused
                if request.cert_type == "custom":
                    raise InvalidRequest("custom is not issued")
                return info
    """, "-k", "types_are_declared")
    result.assert_outcomes(failed=1)
