"""The CDN provider conformance kit: one suite every :class:`CdnDriver` must pass (Poppy's provider
drivers drifted from their base class because no test ran every one of them against it).

Subclass it and provide the driver::

    class TestMyCdn(CdnDriverConformance):
        origin = ("origin.example.net", 80)   # what the provider fetches from

        @pytest.fixture
        def cdn_driver(self, tmp_path):
            driver = MyCdnDriver(...)
            yield driver
            driver.close()

Class attributes: ``origin`` (host, port), ``deploy_timeout``, ``poll_interval``, and
``emulator_gaps``: test name -> why the provider's emulator cannot pass it (the test is then a
strict xfail, so it fails loudly the day the emulator can).

Checked: signatures match the interface; declared capabilities are exactly the overridden optional
methods; undeclared ones raise ``NotSupported``; what a spec asks and the driver lacks is refused
with ``InvalidRequest`` at create; create reaches DEPLOYED with an access URL per domain and is
idempotent on the service id; ``find`` and ``get`` agree; update keeps the id and redeploys (a
missing service is ``NotFound``); a disabled spec deploys; delete is polled until it answers True,
then ``get`` is ``NotFound`` and ``find`` None, and deleting again (or a missing id) succeeds;
purges of a path and of everything as capabilities say; certificates when declared (issued and
deleted, idempotent on the domain, undeclared types refused with nothing made, an unknown domain
``NotFound``, no key material in an answer, an https domain served with its deployed certificate
and left in place when the certificate goes); metrics when declared;
and every exception a driver raises is a ``DriverError``.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
import uuid
from typing import Any, Callable, Iterator

import pytest

from overcast.drivers.cdn.base import (CAPABILITY_METHODS, RESTRICTION_CAPABILITIES, CachingRule, Capability, CdnDriver,
                                       CertificateRequest, CertificateState, DeployState, Domain, Origin, PathRule,
                                       ProviderService, PurgeRequest, Restriction, RestrictionRule, ServiceSpec)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError, InvalidRequest, NotFound, NotSupported
from overcast.testing.conformance import CheckedDriver as _Checked

MISSING_ID = "overcast-conformance-missing-0000"


class CheckedDriver(_Checked):
    """The compute kit's wrapper (a non-DriverError exception fails the test), tracking what was made."""

    def __getattr__(self, name: str) -> Any:
        call = super().__getattr__(name)
        if name not in ("create", "update"):
            return call

        def tracked(*args: Any, **kwargs: Any) -> Any:
            info = call(*args, **kwargs)
            if info.provider_service_id not in self.built:
                self.built.append(info.provider_service_id)
            return info

        return tracked


def _overridden(driver_type: type, name: str) -> bool:
    base, mine = getattr(CdnDriver, name), getattr(driver_type, name)
    return getattr(mine, "__func__", mine) is not getattr(base, "__func__", base)


class CdnDriverConformance:
    """Subclass as ``TestSomething`` and provide a ``cdn_driver`` fixture."""

    origin: tuple[str, int] = ("origin.example.net", 80)
    deploy_timeout = 60.0
    poll_interval = 0.1
    emulator_gaps: dict[str, str] = {}

    @pytest.fixture(autouse=True)
    def _emulator_gaps(self, request: pytest.FixtureRequest) -> None:
        reason = self.emulator_gaps.get(request.node.originalname)
        if reason:
            request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))

    @pytest.fixture
    def driver(self, cdn_driver: CdnDriver) -> Iterator[CheckedDriver]:
        checked = CheckedDriver(cdn_driver)
        yield checked
        for provider_id in checked.built:
            try:
                self.until(lambda p=provider_id: cdn_driver.delete(self.ctx(), p), "cleanup delete")
            except (DriverError, AssertionError):
                pass

    # -- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def ctx() -> CallContext:
        return CallContext(project_id="conformance", request_id=f"req-{uuid.uuid4()}",
                           idempotency_key=uuid.uuid4().hex)

    def spec(self, **changes: Any) -> ServiceSpec:
        token = uuid.uuid4().hex[:10]
        host, port = self.origin
        fields: dict[str, Any] = {
            "service_id": str(uuid.uuid4()), "project_id": "conformance",
            "domains": (Domain(f"www.c{token}.example.org"), Domain(f"img.c{token}.example.org")),
            "origins": (Origin(host, port, rules=(PathRule("default", "/*"),)),),
            "caching": (CachingRule("default", 3600, (PathRule("default", "/*"),)),
                        CachingRule("pages", 60, (PathRule("pages", "/index.html"),)))}
        fields.update(changes)
        return ServiceSpec(**fields)

    def until(self, check: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + self.deploy_timeout
        while True:
            result = check()
            if result:
                return result
            assert time.monotonic() < deadline, f"{what}: not done within {self.deploy_timeout}s"
            time.sleep(self.poll_interval)

    def deployed(self, driver: CheckedDriver, info: ProviderService) -> ProviderService:
        def done() -> ProviderService | None:
            current = driver.get(self.ctx(), info.provider_service_id)
            assert current.state is not DeployState.FAILED, current.message
            return current if current.state is DeployState.DEPLOYED else None

        return self.until(done, f"deployment of {info.provider_service_id}")

    def delete(self, driver: CheckedDriver, provider_id: str) -> None:
        self.until(lambda: driver.delete(self.ctx(), provider_id), f"delete of {provider_id}")

    @staticmethod
    def require(driver: CheckedDriver, capability: Capability) -> None:
        if capability not in driver.capabilities:
            pytest.skip(f"driver does not declare {capability.value}")

    # -- the interface itself -------------------------------------------------------------------------
    def test_signatures_match_the_interface(self, cdn_driver: CdnDriver) -> None:
        assert isinstance(cdn_driver, CdnDriver)
        for name, base in vars(CdnDriver).items():
            if name.startswith("_") or not callable(base):
                continue
            assert inspect.signature(getattr(type(cdn_driver), name)) == inspect.signature(base), name

    def test_capabilities_match_overridden_methods(self, cdn_driver: CdnDriver) -> None:
        assert all(isinstance(c, Capability) for c in cdn_driver.capabilities)
        for capability, methods in CAPABILITY_METHODS.items():
            overridden = [m for m in methods if _overridden(type(cdn_driver), m)]
            if capability in cdn_driver.capabilities:
                assert overridden == list(methods), f"{capability.value} declared but {methods} not all overridden"
            else:
                assert not overridden, f"{overridden} overridden but {capability.value} not declared"

    def test_unsupported_capabilities_raise_not_supported(self, driver: CheckedDriver) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        calls = {Capability.CERTIFICATES: lambda: driver.get_certificate(self.ctx(), "www.example.org"),
                 Capability.ANALYTICS: lambda: driver.metrics(self.ctx(), MISSING_ID, ("www.example.org",), now, now)}
        for capability, call in calls.items():
            if capability not in driver.capabilities:
                with pytest.raises(NotSupported):
                    call()

    def test_is_alive(self, driver: CheckedDriver) -> None:
        assert driver.is_alive() is True

    def test_what_a_provider_lacks_is_refused_at_create(self, driver: CheckedDriver) -> None:
        asks = {Capability.HTTPS: {"domains": (Domain(f"www.t{uuid.uuid4().hex[:8]}.example.org", "https", "san"),)},
                Capability.LOG_DELIVERY: {"log_delivery": True}}
        for kind, capability in RESTRICTION_CAPABILITIES.items():
            value = {"referrer": "bad.example.net", "client_ip": "10.0.0.0/8", "geography": "FR"}[kind]
            asks[capability] = {"restrictions": (Restriction("r", "blacklist", (RestrictionRule("r", kind, value),)),)}
        for capability, changes in asks.items():
            if capability in driver.capabilities:
                continue
            with pytest.raises(InvalidRequest):
                driver.create(self.ctx(), self.spec(**changes))

    # -- lifecycle --------------------------------------------------------------------------------------
    def test_create_reaches_deployed_with_an_access_url_per_domain(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        assert info.provider_service_id
        assert {a.domain for a in info.access_urls} == set(spec.hosts)
        assert all(a.provider_url for a in info.access_urls)

    def test_create_is_idempotent_on_the_service_id(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        first = driver.create(self.ctx(), spec)
        second = driver.create(self.ctx(), spec)
        assert first.provider_service_id == second.provider_service_id

    def test_find_and_get_agree(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        found = driver.find(self.ctx(), spec.service_id)
        assert found is not None and found.provider_service_id == info.provider_service_id
        assert driver.find(self.ctx(), str(uuid.uuid4())) is None

    def test_get_of_a_missing_service_is_not_found(self, driver: CheckedDriver) -> None:
        with pytest.raises(NotFound):
            driver.get(self.ctx(), MISSING_ID)

    def test_update_keeps_the_id_and_redeploys(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        token = uuid.uuid4().hex[:8]
        changed = self.spec(service_id=spec.service_id, domains=(*spec.domains, Domain(f"new.c{token}.example.org")),
                            caching=(CachingRule("default", 120, (PathRule("default", "/*"),)),))
        updated = self.deployed(driver, driver.update(self.ctx(), info.provider_service_id, changed))
        assert updated.provider_service_id == info.provider_service_id
        assert {a.domain for a in updated.access_urls} == set(changed.hosts)

    def test_update_of_a_missing_service_is_not_found(self, driver: CheckedDriver) -> None:
        with pytest.raises(NotFound):
            driver.update(self.ctx(), MISSING_ID, self.spec())

    def test_a_disabled_service_deploys(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        disabled = ServiceSpec(**{**spec.__dict__, "enabled": False})
        self.deployed(driver, driver.update(self.ctx(), info.provider_service_id, disabled))

    def test_delete_then_the_service_is_gone(self, driver: CheckedDriver) -> None:
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        self.delete(driver, info.provider_service_id)
        with pytest.raises(NotFound):
            driver.get(self.ctx(), info.provider_service_id)
        assert driver.find(self.ctx(), spec.service_id) is None
        assert driver.delete(self.ctx(), info.provider_service_id) is True  # a retried delete

    def test_deleting_a_missing_id_succeeds(self, driver: CheckedDriver) -> None:
        assert driver.delete(self.ctx(), MISSING_ID) is True

    # -- purge ----------------------------------------------------------------------------------------
    def _purged(self, driver: CheckedDriver, provider_id: str, request: PurgeRequest) -> None:
        purge_id = driver.purge(self.ctx(), provider_id, request)
        if purge_id is not None:
            self.until(lambda: driver.purge_done(self.ctx(), provider_id, purge_id), "purge")

    def test_purge_a_path(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.PURGE_URL)
        info = self.deployed(driver, driver.create(self.ctx(), self.spec()))
        self._purged(driver, info.provider_service_id, PurgeRequest("/index.html"))
        self._purged(driver, info.provider_service_id, PurgeRequest("/index.html", hard=False))

    def test_purge_everything(self, driver: CheckedDriver) -> None:
        info = self.deployed(driver, driver.create(self.ctx(), self.spec()))
        if Capability.PURGE_ALL not in driver.capabilities:
            with pytest.raises(NotSupported):
                driver.purge(self.ctx(), info.provider_service_id, PurgeRequest(None))
            return
        self._purged(driver, info.provider_service_id, PurgeRequest(None))

    def test_purge_of_a_missing_service_is_not_found(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.PURGE_ALL)
        with pytest.raises(NotFound):
            driver.purge(self.ctx(), MISSING_ID, PurgeRequest(None))

    # -- certificates and figures ---------------------------------------------------------------------
    def _certificate(self, driver: CheckedDriver, domain: str, cert_type: str | None = None) -> Any:
        """Ask for a certificate for ``domain`` and wait until it is no longer in progress."""
        kind = cert_type or driver.certificate_types[0]
        driver.create_certificate(self.ctx(), CertificateRequest(domain, kind, "conformance"))
        return self.until(lambda: (lambda c: c if c.state is not CertificateState.CREATE_IN_PROGRESS else None)(
            driver.get_certificate(self.ctx(), domain)), f"certificate for {domain}")

    def _delete_certificate(self, driver: CheckedDriver, domain: str) -> None:
        self.until(lambda: driver.delete_certificate(self.ctx(), domain), f"delete of the certificate for {domain}")

    def test_certificates(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CERTIFICATES)
        domain = f"secure.c{uuid.uuid4().hex[:8]}.example.org"
        info = self._certificate(driver, domain)
        assert info.state is CertificateState.DEPLOYED and info.domain == domain
        assert info.cert_type == driver.certificate_types[0]
        self._delete_certificate(driver, domain)
        assert driver.delete_certificate(self.ctx(), domain) is True  # a retried delete
        with pytest.raises(NotFound):
            driver.get_certificate(self.ctx(), domain)

    def test_certificate_types_are_declared_and_others_refused(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CERTIFICATES)
        assert driver.certificate_types and set(driver.certificate_types) <= {"san", "sni", "custom"}
        for kind in {"san", "sni", "custom"} - set(driver.certificate_types):
            domain = f"refused.c{uuid.uuid4().hex[:8]}.example.org"
            with pytest.raises(InvalidRequest):
                driver.create_certificate(self.ctx(), CertificateRequest(domain, kind, "conformance"))
            with pytest.raises(NotFound):  # nothing half made
                driver.get_certificate(self.ctx(), domain)

    def test_certificate_creation_is_idempotent_on_the_domain(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CERTIFICATES)
        domain = f"again.c{uuid.uuid4().hex[:8]}.example.org"
        request = CertificateRequest(domain, driver.certificate_types[0], "conformance")
        try:
            first = driver.create_certificate(self.ctx(), request)
            second = driver.create_certificate(self.ctx(), request)
            assert first.domain == second.domain == domain
            assert first.state is not CertificateState.FAILED and second.state is not CertificateState.FAILED
            assert self._certificate(driver, domain).state is CertificateState.DEPLOYED
        finally:
            self._delete_certificate(driver, domain)

    def test_certificate_of_an_unknown_domain_is_not_found(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CERTIFICATES)
        with pytest.raises(NotFound):
            driver.get_certificate(self.ctx(), f"none.c{uuid.uuid4().hex[:8]}.example.org")

    def test_certificate_answers_carry_no_key_material(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CERTIFICATES)
        domain = f"key.c{uuid.uuid4().hex[:8]}.example.org"
        try:
            answers = [driver.create_certificate(self.ctx(), CertificateRequest(domain, driver.certificate_types[0],
                                                                                 "conformance")),
                       self._certificate(driver, domain)]
            for info in answers:
                text = repr(info)
                assert "-----BEGIN" not in text and "PRIVATE KEY" not in text, text
        finally:
            self._delete_certificate(driver, domain)

    def test_an_https_domain_is_served_with_its_certificate(self, driver: CheckedDriver) -> None:
        """A deployed certificate serves the service's https domain (its status is reported),
        and deleting the certificate leaves the service in place (detached first)."""
        self.require(driver, Capability.CERTIFICATES)
        self.require(driver, Capability.HTTPS)
        domain = f"tls.c{uuid.uuid4().hex[:8]}.example.org"
        kind = driver.certificate_types[0]
        assert self._certificate(driver, domain).state is CertificateState.DEPLOYED
        try:
            spec = self.spec(domains=(Domain(domain, "https", kind),))
            info = self.deployed(driver, driver.create(self.ctx(), spec))
            assert info.certificates.get(domain) is CertificateState.DEPLOYED, info.certificates
        finally:
            self._delete_certificate(driver, domain)
        with pytest.raises(NotFound):
            driver.get_certificate(self.ctx(), domain)
        assert driver.get(self.ctx(), info.provider_service_id).provider_service_id == info.provider_service_id

    def test_metrics_answer_one_record_per_domain(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.ANALYTICS)
        spec = self.spec()
        info = self.deployed(driver, driver.create(self.ctx(), spec))
        now = dt.datetime.now(dt.timezone.utc)
        figures = driver.metrics(self.ctx(), info.provider_service_id, spec.hosts, now - dt.timedelta(days=1), now)
        assert [f.domain for f in figures] == list(spec.hosts)
        assert all(f.request_count >= 0 and f.bandwidth_bytes >= 0 for f in figures)
        with pytest.raises(NotFound):
            driver.metrics(self.ctx(), MISSING_ID, spec.hosts, now, now)
