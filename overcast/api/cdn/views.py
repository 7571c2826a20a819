"""Records -> Poppy's JSON (services, flavors, certificates), rendered once for every provider."""

from __future__ import annotations

import copy
from typing import Any

from overcast.api.cdn.common import Links
from overcast.core.cdn import CdnCore
from overcast.store.cdn import CdnCertificate, CdnFlavor, CdnService


class CdnViews:
    def __init__(self, core: CdnCore, links: Links):
        self.core = core
        self.links = links

    def service(self, service: CdnService) -> dict[str, Any]:
        doc = service.document
        domains = copy.deepcopy(doc["domains"])
        details = list(service.providers)
        for domain in domains:
            if domain.get("protocol") != "https":
                continue
            if domain.get("certificate") == "shared":
                domain["certificate_status"] = "deployed"
                continue
            statuses = [d.certificates.get(domain["domain"]) for d in details]
            found = [s for s in statuses if s]
            domain["certificate_status"] = ("failed" if "failed" in found else
                                            "deployed" if found and len(found) == len(details) and
                                            set(found) == {"deployed"} else "create_in_progress")
        links = [{"href": self.links.service(service.id), "rel": "self"},
                 {"href": self.links.flavor(service.flavor_id), "rel": "flavor"}]
        for domain in doc["domains"]:
            name = domain["domain"]
            target = next((a["provider_url"] for d in details for a in d.access_urls or () if a["domain"] == name),
                          None)
            if target is not None:
                links.append({"href": f"{name}.{self.core.operator_domain}", "rel": "access_url", "domain": name,
                              "provider_url": target})
        return {
            "id": service.id,
            "name": service.name,
            "project_id": service.project_id,
            "flavor_id": service.flavor_id,
            "domains": domains,
            # rendered as stored; only the domains get fields added, so only they are copied
            "origins": doc["origins"],
            "caching": doc["caching"],
            "restrictions": doc.get("restrictions") or [],
            "log_delivery": dict(doc.get("log_delivery") or {"enabled": False}),
            "status": "disabled" if service.operator_status == "disabled" else service.status,
            "errors": [{"message": d.error_message, "provider": d.provider} for d in details if d.error_message],
            "links": links,
        }

    def flavor(self, flavor: CdnFlavor) -> dict[str, Any]:
        return {"id": flavor.id, "providers": copy.deepcopy(flavor.providers), "limits": [],
                "links": [{"href": self.links.flavor(flavor.id), "rel": "self"}]}

    @staticmethod
    def certificate(cert: CdnCertificate) -> dict[str, Any]:
        return {"domain_name": cert.domain_name, "flavor_id": cert.flavor_id, "cert_type": cert.cert_type,
                "project_id": cert.project_id, "status": cert.status, "cert_details": cert.cert_details}
