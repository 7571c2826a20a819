"""CDN provider drivers: the interface (:mod:`.base`) and the built-in providers, one module each
(``mock``, ``varnish``, ``cloudfront``, ``fastly``), each imported only when configured."""

from overcast.drivers.cdn.base import (CAPABILITY_METHODS, AccessUrl, CachingRule, Capability, CdnDriver,
                                      CertificateInfo, CertificateRequest, CertificateState, DeployState, Domain,
                                      DomainMetrics, Origin, PathRule, ProviderService, PurgeRequest,
                                      Restriction, RestrictionRule, ServiceSpec, needed_capabilities, spec_from_dict,
                                      spec_to_dict)

__all__ = [
    "CAPABILITY_METHODS", "AccessUrl", "CachingRule", "Capability", "CdnDriver", "CertificateInfo",
    "CertificateRequest", "CertificateState", "DeployState", "Domain", "DomainMetrics", "Origin", "PathRule",
    "ProviderService", "PurgeRequest", "Restriction", "RestrictionRule", "ServiceSpec", "needed_capabilities",
    "spec_from_dict", "spec_to_dict",
]
