"""The ``cloudfront`` CDN provider (boto3): one distribution per service.

- A service becomes a distribution: its domains are the aliases, its origins custom origins (``o0``
  serves ``/*``; the others serve their rules' paths as cache behaviours), its caching rules
  TTLs per path pattern, geographic restrictions CloudFront's geo restriction (whole distribution
  only). The distribution's ``Comment`` is ``overcast:<service id>`` and its ``CallerReference`` the
  service id, so a create retried after a crash finds the distribution it made.
- Status is polled from ``InProgress`` to ``Deployed``.
- AWS's rules are honoured: every update and delete sends the ``IfMatch`` ETag of the configuration
  it read (a concurrent change is a ``PreconditionFailed``, read again and retried once); a
  distribution is disabled, and that change deployed, before it may be deleted (``delete`` answers
  False meanwhile).
- Purges are invalidations (``/*`` for everything), polled until ``Completed``. CloudFront has no
  soft purge: a soft purge is a hard one.
- Certificates (``POST /ssl_certificate``, cert_type ``san`` or ``sni``) are requested in ACM
  (us-east-1, where CloudFront takes them from) with DNS validation, tagged
  ``overcast:cdn-domain``, one per domain: ``PENDING_VALIDATION`` is ``create_in_progress``,
  ``ISSUED`` is ``deployed``, ``FAILED``/``VALIDATION_TIMED_OUT``/``REVOKED``/``EXPIRED``/``INACTIVE``
  are ``failed`` with ACM's reason. The details carry the DNS record the domain's owner must create,
  never the certificate's ARN (it names the AWS account) nor anything of its key. A service's https
  domains are served with their issued certificate (``ViewerCertificate`` with its ARN, SNI); a
  distribution has one certificate, so its https domains must share one (or the operator's
  ``acm_certificate_arn`` covers them, and serves ``shared`` domains). Deleting a certificate detaches
  it from the distributions that serve it first (they fall back to the operator's certificate or
  CloudFront's default), then deletes it in ACM (``ResourceInUseException`` while CloudFront still
  uses it: ``delete_certificate`` answers False, to be called again). ``custom`` (the owner's own certificate) would be an ACM import, which
  ``/ssl_certificate`` cannot carry: refused.

Options: ``aws_access_key_id``, ``aws_secret_access_key`` (secrets by ``env:``/``file:`` reference),
``region`` (us-east-1), ``endpoint_url`` (an emulator such as moto_server), ``price_class``
(PriceClass_All), ``acm_certificate_arn`` (with it, https domains are served with that ACM
certificate, and shared domains), ``connect_timeout``/``read_timeout`` (seconds).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.cdn.base import (AccessUrl, Capability, CdnDriver, CertificateInfo, CertificateRequest,
                                       CertificateState, DeployState, ProviderService, PurgeRequest, ServiceSpec,
                                       needed_capabilities)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, Conflict, DeleteFailed, DriverError, InvalidRequest, NotFound,
                                     QuotaExceeded, Unavailable)

LOG = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"aws_access_key_id": None, "aws_secret_access_key": None, "region": "us-east-1",
                            "endpoint_url": None, "price_class": "PriceClass_All", "acm_certificate_arn": None,
                            "connect_timeout": 10, "read_timeout": 30}
COMMENT_PREFIX = "overcast:"

#: the tag that marks an ACM certificate as Overcast's for one domain (and its Poppy cert_type)
DOMAIN_TAG = "overcast:cdn-domain"
TYPE_TAG = "overcast:cert-type"
#: ACM's certificate status -> Poppy's
ACM_STATES = {"PENDING_VALIDATION": CertificateState.CREATE_IN_PROGRESS, "ISSUED": CertificateState.DEPLOYED}
#: ACM serves certificates to CloudFront from this region only
ACM_REGION = "us-east-1"

_NOT_FOUND = {"NoSuchDistribution", "NoSuchInvalidation", "NoSuchResource", "ResourceNotFoundException"}
_CONFLICT = {"CNAMEAlreadyExists", "DistributionNotDisabled", "IllegalUpdate", "DistributionAlreadyExists",
             "TooManyDistributionCNAMEs"}
_QUOTA = {"TooManyDistributions", "TooManyInvalidationsInProgress", "TooManyOrigins", "TooManyCacheBehaviors"}
_RETRY = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalError", "RequestLimitExceeded",
          "PreconditionFailed", "RequestInProgressException"}


def translate(exc: Exception, default: type[DriverError] = DriverError) -> DriverError:
    """A boto3/botocore exception as the driver's exception, keeping AWS's message."""
    from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError

    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)):
        return Unavailable(f"CloudFront could not be reached: {exc}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message") or str(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"{code}: {message}" if code else message
        if code in _NOT_FOUND:
            return NotFound(text)
        if code in _CONFLICT:
            return Conflict(text)
        if code in _QUOTA:
            return QuotaExceeded(text)
        if code in _RETRY or status >= 500:
            return Unavailable(text)
        if (code.startswith("Invalid") or code in ("MissingBody", "InconsistentQuantities", "ValidationException")
                or status == 400):
            return InvalidRequest(text)
        return default(text)
    return default(f"{type(exc).__name__}: {exc}")


def _pattern(url: str) -> str:
    return url if url.startswith("/") else "/" + url


class CloudFrontCdnDriver(CdnDriver):
    """See the module docstring."""

    provider_url = "https://aws.amazon.com/cloudfront/"
    certificate_types = ("san", "sni")

    def __init__(self, *, aws_access_key_id: str | None = None, aws_secret_access_key: str | None = None,
                 region: str = "us-east-1", endpoint_url: str | None = None, price_class: str = "PriceClass_All",
                 acm_certificate_arn: str | None = None, connect_timeout: float = 10, read_timeout: float = 30,
                 client: Any = None, acm_client: Any = None) -> None:
        self.price_class = price_class
        self.acm_certificate_arn = acm_certificate_arn
        self.capabilities = frozenset({Capability.PURGE_URL, Capability.PURGE_ALL, Capability.GEO_RESTRICTIONS,
                                       Capability.HTTPS, Capability.CERTIFICATES})
        if client is None or acm_client is None:
            import boto3
            from botocore.config import Config

            def make(service: str, region_name: str) -> Any:
                return boto3.client(
                    service, region_name=region_name, endpoint_url=endpoint_url,
                    aws_access_key_id=aws_access_key_id, aws_secret_access_key=aws_secret_access_key,
                    config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                  retries={"max_attempts": 2, "mode": "standard"}))

            client = client if client is not None else make("cloudfront", region)
            acm_client = acm_client if acm_client is not None else make("acm", ACM_REGION)
        self.client = client
        self.acm = acm_client

    def _call(self, method: str, default: type[DriverError] = DriverError, **kwargs: Any) -> Any:
        return self._on(self.client, method, default, **kwargs)

    @staticmethod
    def _on(client: Any, method: str, default: type[DriverError] = DriverError, **kwargs: Any) -> Any:
        try:
            return getattr(client, method)(**kwargs)
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise translate(exc, default) from None

    # -- the distribution config -------------------------------------------------------------------
    def distribution_config(self, spec: ServiceSpec, caller_reference: str | None = None,
                            viewer: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The DistributionConfig for ``spec``, served with the ``viewer`` certificate (default:
        the operator's ``acm_certificate_arn`` for https domains, else CloudFront's); see
        :meth:`viewer_certificate`. :raises InvalidRequest: what CloudFront cannot do."""
        lacking = sorted(c.value for c in needed_capabilities(spec) - self.capabilities)
        if lacking:
            raise InvalidRequest(f"The cloudfront provider does not offer {', '.join(lacking)}")
        origins, routes = [], []
        for i, origin in enumerate(spec.origins):
            if origin.host_header_type == "custom":
                raise InvalidRequest(f"origins[{i}]: CloudFront cannot send a custom Host header to an origin")
            origins.append({
                "Id": f"o{i}", "DomainName": origin.origin, "OriginPath": "",
                "CustomHeaders": {"Quantity": 0},
                "CustomOriginConfig": {"HTTPPort": origin.port if not origin.ssl else 80,
                                       "HTTPSPort": origin.port if origin.ssl else 443,
                                       "OriginProtocolPolicy": "https-only" if origin.ssl else "http-only",
                                       "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                       "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}})
            for rule in origin.rules:
                routes.append((rule.request_url, i))
        ttl = {rule.request_url: caching.ttl for caching in spec.caching for rule in caching.rules}
        default_ttl = ttl.get("/*", 86400)
        forward_host = {i for i, o in enumerate(spec.origins) if o.host_header_type == "domain"}

        def behavior(target: int, seconds: int) -> dict[str, Any]:
            headers = ["Host"] if target in forward_host else []
            return {"TargetOriginId": f"o{target}", "ViewerProtocolPolicy": "allow-all",
                    "TrustedSigners": {"Enabled": False, "Quantity": 0},
                    "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"},
                                        "Headers": {"Quantity": len(headers), "Items": headers},
                                        "QueryStringCacheKeys": {"Quantity": 0}},
                    "MinTTL": 0, "DefaultTTL": seconds, "MaxTTL": max(seconds, 31536000),
                    "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                                       "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
                    "Compress": False, "SmoothStreaming": False}

        def origin_for(url: str) -> int:
            literal = url.rstrip("*")
            matches = [(len(u.rstrip("*")), i) for u, i in routes if literal.startswith(u.rstrip("*"))]
            return max(matches)[1] if matches else 0

        patterns = sorted({u for u, _ in routes} | set(ttl), key=lambda u: -len(u.rstrip("*")))
        behaviors = [{"PathPattern": _pattern(url), **behavior(origin_for(url), ttl.get(url, default_ttl))}
                     for url in patterns if url != "/*"]
        geo = [(r.access, rule) for r in spec.restrictions for rule in r.rules if rule.kind == "geography"]
        restriction = {"RestrictionType": "none", "Quantity": 0}
        if geo:
            kinds = {access for access, _ in geo}
            if len(kinds) > 1 or any(rule.request_url != "/*" for _, rule in geo):
                raise InvalidRequest("CloudFront restricts geography for a whole distribution, one list, on /*")
            if any(len(rule.value) != 2 for _, rule in geo):
                raise InvalidRequest("CloudFront restricts geography by ISO 3166 country code")
            codes = sorted({rule.value for _, rule in geo})
            restriction = {"RestrictionType": geo[0][0], "Quantity": len(codes), "Items": codes}
        if viewer is None:
            https = any(d.protocol == "https" for d in spec.domains)
            viewer = self._viewer(self.acm_certificate_arn if https else None)
        return {
            "CallerReference": caller_reference or spec.service_id,
            "Aliases": {"Quantity": len(spec.hosts), "Items": list(spec.hosts)},
            "DefaultRootObject": "",
            "Origins": {"Quantity": len(origins), "Items": origins},
            "DefaultCacheBehavior": behavior(origin_for("/*"), default_ttl),
            "CacheBehaviors": {"Quantity": len(behaviors), **({"Items": behaviors} if behaviors else {})},
            "CustomErrorResponses": {"Quantity": 0},
            "Comment": f"{COMMENT_PREFIX}{spec.service_id}",
            "Logging": {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""},
            "PriceClass": self.price_class,
            "Enabled": spec.enabled,
            "ViewerCertificate": dict(viewer),
            "Restrictions": {"GeoRestriction": restriction},
            "HttpVersion": "http2",
            "IsIPV6Enabled": True,
        }

    @staticmethod
    def _viewer(arn: str | None) -> dict[str, Any]:
        if arn is None:
            return {"CloudFrontDefaultCertificate": True}
        return {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}

    def viewer_certificate(self, spec: ServiceSpec) -> dict[str, Any]:
        """The ``ViewerCertificate`` serving ``spec``'s https domains: each ``san``/``sni``/``custom``
        domain's own issued ACM certificate (else the operator's ``acm_certificate_arn``), each
        ``shared`` one the operator's; all of them one certificate, as a distribution has one.

        :raises InvalidRequest: a domain with no certificate to serve it, one not issued yet, or
            https domains needing different certificates.
        """
        arns: dict[str, str] = {}
        for i, domain in enumerate(spec.domains):
            if domain.protocol != "https":
                continue
            own = None if domain.certificate == "shared" else self._find_certificate(domain.domain)
            if own is not None:
                status = self._describe(own[0]).get("Status")
                if status != "ISSUED":
                    raise InvalidRequest(f"domains[{i}]: the certificate for {domain.domain} is not issued yet "
                                         f"(ACM status {status}); deploy again once it is deployed")
                arns[domain.domain] = own[0]
            elif self.acm_certificate_arn:
                arns[domain.domain] = self.acm_certificate_arn
            elif domain.certificate == "shared":
                raise InvalidRequest(f"domains[{i}]: the cloudfront provider has no shared certificate "
                                     "(its acm_certificate_arn option)")
            else:
                raise InvalidRequest(f"domains[{i}]: the cloudfront provider has no certificate for "
                                     f"{domain.domain}; ask for one with POST /ssl_certificate first")
        if len(set(arns.values())) > 1:
            raise InvalidRequest(f"domains: CloudFront serves one certificate per distribution; "
                                 f"{', '.join(sorted(arns))} have different certificates")
        return self._viewer(next(iter(arns.values()), None))

    def _info(self, distribution: Mapping[str, Any], etag: str | None = None) -> ProviderService:
        config = distribution.get("DistributionConfig") or {}
        aliases = (config.get("Aliases") or {}).get("Items") or []
        status = distribution.get("Status")
        state = DeployState.DEPLOYED if status == "Deployed" else DeployState.IN_PROGRESS
        https = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
        return ProviderService(
            provider_service_id=distribution["Id"], state=state,
            access_urls=tuple(AccessUrl(alias, distribution["DomainName"]) for alias in aliases),
            certificates={a: CertificateState.DEPLOYED if state is DeployState.DEPLOYED
                          else CertificateState.CREATE_IN_PROGRESS for a in aliases} if https else {},
            extra={"etag": etag, "status": status, "enabled": config.get("Enabled")})

    # -- services ----------------------------------------------------------------------------------
    def create(self, ctx: CallContext, spec: ServiceSpec) -> ProviderService:
        config = self.distribution_config(spec, viewer=self.viewer_certificate(spec))
        found = self.find(ctx, spec.service_id)
        if found is not None:
            return found
        try:
            answer = self.client.create_distribution(DistributionConfig=config)
        except Exception as exc:  # noqa: BLE001
            error = translate(exc, BuildFailed)
            if "DistributionAlreadyExists" in str(error):
                found = self.find(ctx, spec.service_id)
                if found is not None:
                    return found
            raise error from None
        return self._info(answer["Distribution"], answer.get("ETag"))

    def update(self, ctx: CallContext, provider_service_id: str, spec: ServiceSpec) -> ProviderService:
        for attempt in (1, 2):
            current = self._call("get_distribution_config", Id=provider_service_id)
            config = self.distribution_config(spec, current["DistributionConfig"]["CallerReference"],
                                              self.viewer_certificate(spec))
            try:
                answer = self.client.update_distribution(DistributionConfig=config, Id=provider_service_id,
                                                         IfMatch=current["ETag"])
            except Exception as exc:  # noqa: BLE001
                error = translate(exc, BuildFailed)
                if attempt == 1 and str(error).startswith("PreconditionFailed"):
                    continue  # changed since we read it: read again
                raise error from None
            return self._info(answer["Distribution"], answer.get("ETag"))
        raise Unavailable("the distribution kept changing while it was updated")  # pragma: no cover

    def delete(self, ctx: CallContext, provider_service_id: str) -> bool:
        try:
            answer = self._call("get_distribution", DeleteFailed, Id=provider_service_id)
        except NotFound:
            return True
        distribution, etag = answer["Distribution"], answer["ETag"]
        config = distribution["DistributionConfig"]
        if config.get("Enabled"):
            # AWS deletes only a disabled distribution whose disabling has deployed
            self._call("update_distribution", DeleteFailed, DistributionConfig={**config, "Enabled": False},
                       Id=provider_service_id, IfMatch=etag)
            return False
        if distribution.get("Status") != "Deployed":
            return False
        try:
            self._call("delete_distribution", DeleteFailed, Id=provider_service_id, IfMatch=etag)
        except NotFound:
            return True
        return True

    def get(self, ctx: CallContext, provider_service_id: str) -> ProviderService:
        answer = self._call("get_distribution", Id=provider_service_id)
        return self._info(answer["Distribution"], answer.get("ETag"))

    def find(self, ctx: CallContext, service_id: str) -> ProviderService | None:
        comment = f"{COMMENT_PREFIX}{service_id}"
        marker = ""
        while True:
            arguments: dict[str, Any] = {"Marker": marker} if marker else {}
            page = self._call("list_distributions", DriverError, **arguments)["DistributionList"]
            for item in page.get("Items") or []:
                if item.get("Comment") == comment:
                    return self.get(ctx, item["Id"])
            if not page.get("IsTruncated"):
                return None
            marker = page.get("NextMarker") or ""

    # -- purge ---------------------------------------------------------------------------------------
    def purge(self, ctx: CallContext, provider_service_id: str, request: PurgeRequest) -> str | None:
        path = "/*" if request.all else _pattern(request.url or "/*")
        reference = ctx.idempotency_key if ctx is not None and ctx.idempotency_key else None
        import uuid

        answer = self._call("create_invalidation", DistributionId=provider_service_id, InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [path]}, "CallerReference": reference or uuid.uuid4().hex})
        invalidation = answer["Invalidation"]
        return None if invalidation.get("Status") == "Completed" else invalidation["Id"]

    def purge_done(self, ctx: CallContext, provider_service_id: str, purge_id: str) -> bool:
        answer = self._call("get_invalidation", DistributionId=provider_service_id, Id=purge_id)
        return answer["Invalidation"].get("Status") == "Completed"

    # -- certificates (ACM) -----------------------------------------------------------------------------
    def _find_certificate(self, domain: str) -> tuple[str, dict[str, str]] | None:
        """Overcast's ACM certificate for ``domain``: (its ARN, its tags), or None."""
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"NextToken": token} if token else {}
            page = self._on(self.acm, "list_certificates", DriverError, **arguments)
            for item in page.get("CertificateSummaryList") or []:
                if item.get("DomainName") != domain:
                    continue
                arn = item["CertificateArn"]
                tags = {t["Key"]: t.get("Value", "") for t in
                        self._on(self.acm, "list_tags_for_certificate", CertificateArn=arn).get("Tags") or []}
                if tags.get(DOMAIN_TAG) == domain:
                    return arn, tags
            token = page.get("NextToken")
            if not token:
                return None

    def _describe(self, arn: str) -> dict[str, Any]:
        return self._on(self.acm, "describe_certificate", CertificateArn=arn)["Certificate"]

    def _certificate_info(self, domain: str, arn: str, tags: Mapping[str, str]) -> CertificateInfo:
        cert = self._describe(arn)
        status = cert.get("Status", "")
        state = ACM_STATES.get(status, CertificateState.FAILED)
        message = None
        if state is CertificateState.FAILED:
            message = f"ACM certificate {status}" + (f": {cert['FailureReason']}" if cert.get("FailureReason") else "")
        validation = [{"domain": o.get("DomainName"), "method": o.get("ValidationMethod"),
                       "status": o.get("ValidationStatus"),
                       **({"record": {"name": o["ResourceRecord"].get("Name"), "type": o["ResourceRecord"].get("Type"),
                                      "value": o["ResourceRecord"].get("Value")}} if o.get("ResourceRecord") else {})}
                      for o in cert.get("DomainValidationOptions") or []]
        return CertificateInfo(domain=domain, cert_type=tags.get(TYPE_TAG, "sni"), state=state, message=message,
                               details={"acm_status": status, "validation": validation})

    def create_certificate(self, ctx: CallContext, request: CertificateRequest) -> CertificateInfo:
        if request.cert_type not in self.certificate_types:
            raise InvalidRequest(f"cert_type: the cloudfront provider issues {' and '.join(self.certificate_types)} "
                                 f"certificates (ACM), not {request.cert_type}")
        found = self._find_certificate(request.domain)
        if found is None:
            import hashlib

            tags = {DOMAIN_TAG: request.domain, TYPE_TAG: request.cert_type}
            arn = self._on(self.acm, "request_certificate", BuildFailed, DomainName=request.domain,
                           ValidationMethod="DNS",
                           IdempotencyToken=hashlib.sha256(request.domain.encode()).hexdigest()[:32],
                           Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["CertificateArn"]
            found = (arn, tags)
        return self._certificate_info(request.domain, *found)

    def get_certificate(self, ctx: CallContext, domain: str) -> CertificateInfo:
        found = self._find_certificate(domain)
        if found is None:
            raise NotFound(f"No certificate for {domain}")
        return self._certificate_info(domain, *found)

    def delete_certificate(self, ctx: CallContext, domain: str) -> bool:
        found = self._find_certificate(domain)
        if found is None:
            return True
        arn = found[0]
        self._detach(arn)
        try:
            self.acm.delete_certificate(CertificateArn=arn)
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            error = translate(exc, DeleteFailed)
            if isinstance(error, NotFound):
                return True
            if str(error).startswith("ResourceInUseException"):
                return False  # CloudFront has not let go of it yet (the detaching change deploys)
            raise error from None
        return True

    def _detach(self, arn: str) -> None:
        """Serve the distributions that serve ``arn`` with the operator's certificate (or
        CloudFront's default) instead, so ACM may delete it."""
        marker = ""
        while True:
            arguments: dict[str, Any] = {"Marker": marker} if marker else {}
            page = self._call("list_distributions", DeleteFailed, **arguments)["DistributionList"]
            for item in page.get("Items") or []:
                if (item.get("ViewerCertificate") or {}).get("ACMCertificateArn") != arn:
                    continue
                current = self._call("get_distribution_config", DeleteFailed, Id=item["Id"])
                fallback = self.acm_certificate_arn if self.acm_certificate_arn != arn else None
                config = {**current["DistributionConfig"], "ViewerCertificate": self._viewer(fallback)}
                self._call("update_distribution", DeleteFailed, DistributionConfig=config, Id=item["Id"],
                           IfMatch=current["ETag"])
            if not page.get("IsTruncated"):
                return
            marker = page.get("NextMarker") or ""

    def is_alive(self) -> bool:
        try:
            self.client.list_distributions(MaxItems="1")
        except Exception:  # noqa: BLE001 - is_alive never raises
            return False
        return True

    def close(self) -> None:
        for client in (self.client, self.acm):
            closer = getattr(client, "close", None)
            if callable(closer):
                closer()


def create_driver(options: Mapping[str, Any], data_dir: Path) -> Any:
    """Entry point ``cloudfront``: a provider bundle whose ``cdn`` slot is CloudFront."""
    from overcast.drivers.registry import CloudDriver, check_options

    opts = check_options("cloudfront", options, DEFAULTS)
    driver = CloudFrontCdnDriver(**opts)
    return CloudDriver(name="cloudfront", cdn=driver, info={"region": opts["region"],
                                                            "endpoint_url": opts["endpoint_url"] or "AWS"})
