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

Options: ``aws_access_key_id``, ``aws_secret_access_key`` (secrets by ``env:``/``file:`` reference),
``region`` (us-east-1), ``endpoint_url`` (an emulator such as moto_server), ``price_class``
(PriceClass_All), ``acm_certificate_arn`` (with it, https domains are served with that ACM
certificate), ``connect_timeout``/``read_timeout`` (seconds).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.cdn.base import (AccessUrl, Capability, CdnDriver, CertificateState, DeployState, ProviderService,
                                       PurgeRequest, ServiceSpec, needed_capabilities)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, Conflict, DeleteFailed, DriverError, InvalidRequest, NotFound,
                                     QuotaExceeded, Unavailable)

LOG = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"aws_access_key_id": None, "aws_secret_access_key": None, "region": "us-east-1",
                            "endpoint_url": None, "price_class": "PriceClass_All", "acm_certificate_arn": None,
                            "connect_timeout": 10, "read_timeout": 30}
COMMENT_PREFIX = "overcast:"

_NOT_FOUND = {"NoSuchDistribution", "NoSuchInvalidation", "NoSuchResource"}
_CONFLICT = {"CNAMEAlreadyExists", "DistributionNotDisabled", "IllegalUpdate", "DistributionAlreadyExists",
             "TooManyDistributionCNAMEs"}
_QUOTA = {"TooManyDistributions", "TooManyInvalidationsInProgress", "TooManyOrigins", "TooManyCacheBehaviors"}
_RETRY = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalError", "RequestLimitExceeded",
          "PreconditionFailed"}


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
        if code.startswith("Invalid") or code in ("MissingBody", "InconsistentQuantities") or status == 400:
            return InvalidRequest(text)
        return default(text)
    return default(f"{type(exc).__name__}: {exc}")


def _pattern(url: str) -> str:
    return url if url.startswith("/") else "/" + url


class CloudFrontCdnDriver(CdnDriver):
    """See the module docstring."""

    provider_url = "https://aws.amazon.com/cloudfront/"

    def __init__(self, *, aws_access_key_id: str | None = None, aws_secret_access_key: str | None = None,
                 region: str = "us-east-1", endpoint_url: str | None = None, price_class: str = "PriceClass_All",
                 acm_certificate_arn: str | None = None, connect_timeout: float = 10, read_timeout: float = 30,
                 client: Any = None) -> None:
        self.price_class = price_class
        self.acm_certificate_arn = acm_certificate_arn
        self.capabilities = frozenset({Capability.PURGE_URL, Capability.PURGE_ALL, Capability.GEO_RESTRICTIONS}
                                      | ({Capability.HTTPS} if acm_certificate_arn else set()))
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "cloudfront", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                              retries={"max_attempts": 2, "mode": "standard"}))
        self.client = client

    def _call(self, method: str, default: type[DriverError] = DriverError, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise translate(exc, default) from None

    # -- the distribution config -------------------------------------------------------------------
    def distribution_config(self, spec: ServiceSpec, caller_reference: str | None = None) -> dict[str, Any]:
        """The DistributionConfig for ``spec``. :raises InvalidRequest: what CloudFront cannot do."""
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
        viewer: dict[str, Any] = {"CloudFrontDefaultCertificate": True}
        if any(d.protocol == "https" for d in spec.domains) and self.acm_certificate_arn:
            viewer = {"ACMCertificateArn": self.acm_certificate_arn, "SSLSupportMethod": "sni-only",
                      "MinimumProtocolVersion": "TLSv1.2_2021"}
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
            "ViewerCertificate": viewer,
            "Restrictions": {"GeoRestriction": restriction},
            "HttpVersion": "http2",
            "IsIPV6Enabled": True,
        }

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
        config = self.distribution_config(spec)
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
            config = self.distribution_config(spec, current["DistributionConfig"]["CallerReference"])
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

    def is_alive(self) -> bool:
        try:
            self.client.list_distributions(MaxItems="1")
        except Exception:  # noqa: BLE001 - is_alive never raises
            return False
        return True

    def close(self) -> None:
        closer = getattr(self.client, "close", None)
        if callable(closer):
            closer()


def create_driver(options: Mapping[str, Any], data_dir: Path) -> Any:
    """Entry point ``cloudfront``: a provider bundle whose ``cdn`` slot is CloudFront."""
    from overcast.drivers.registry import CloudDriver, check_options

    opts = check_options("cloudfront", options, DEFAULTS)
    driver = CloudFrontCdnDriver(**opts)
    return CloudDriver(name="cloudfront", cdn=driver, info={"region": opts["region"],
                                                            "endpoint_url": opts["endpoint_url"] or "AWS"})
