"""Metering over the wire (api-ref "Metering labels and rules", the ``metering`` extension):
``/v2.0/metering/metering-labels`` and ``/v2.0/metering/metering-label-rules`` through the generic
collection and item responders (no update: Neutron has none), the wire form of
:mod:`overcast.core.network.metering` and :mod:`overcast.core.network.metering_rules`."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.network.common import BOOL, NAME, UUID, Collection, Item, Kind
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, metering, metering_rules
from overcast.store.network import MeteringLabel, MeteringLabelRule

_OWNER = {"tenant_id": UUID, "project_id": UUID}
LABEL_CREATE: dict[str, Any] = {"name": NAME, "description": {"type": "string", "maxLength": 1024},
                                "shared": BOOL, **_OWNER}
#: the owner given for a rule is taken and ignored, as Neutron does: a rule is its label's
_PREFIX = {"type": ["string", "null"], "maxLength": 64}
RULE_CREATE: dict[str, Any] = {"metering_label_id": UUID, "remote_ip_prefix": _PREFIX, "source_ip_prefix": _PREFIX,
                               "destination_ip_prefix": _PREFIX, "direction": {"type": "string", "maxLength": 16}, "excluded": BOOL, **_OWNER}


def label(req: falcon.Request, session: Session, record: MeteringLabel) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "description": record.description, "shared": record.shared,
            "tenant_id": record.project_id, "project_id": record.project_id}


def rule(req: falcon.Request, session: Session, record: MeteringLabelRule) -> dict[str, Any]:
    return {"id": record.id, "metering_label_id": record.metering_label_id, "direction": record.direction,
            "remote_ip_prefix": record.remote_ip_prefix, "source_ip_prefix": record.source_ip_prefix,
            "destination_ip_prefix": record.destination_ip_prefix, "excluded": record.excluded}


LABELS = Kind("metering_labels", "metering_label", label, metering, LABEL_CREATE, {},
              url="metering/metering-labels",
              columns={"id": MeteringLabel.id, "name": MeteringLabel.name, "description": MeteringLabel.description,
                       "shared": MeteringLabel.shared, "project_id": MeteringLabel.project_id,
                       "tenant_id": MeteringLabel.project_id})
RULES = Kind("metering_label_rules", "metering_label_rule", rule, metering_rules, RULE_CREATE, {},
             url="metering/metering-label-rules", required=("metering_label_id",),
             columns={"id": MeteringLabelRule.id, "metering_label_id": MeteringLabelRule.metering_label_id,
                      "direction": MeteringLabelRule.direction,
                      "remote_ip_prefix": MeteringLabelRule.remote_ip_prefix,
                      "source_ip_prefix": MeteringLabelRule.source_ip_prefix,
                      "destination_ip_prefix": MeteringLabelRule.destination_ip_prefix,
                      "excluded": MeteringLabelRule.excluded})

#: endpoint name -> (URL, kind); rules first, so deletes of rules come before their labels'
ENDPOINTS = (("metering-label-rules", RULES), ("metering-labels", LABELS))


def declare(registry: Registry) -> None:
    for name, kind in ENDPOINTS:
        registry.declare("network", name, f"/v2.0/{kind.url}", ("GET", "POST"))
        registry.declare("network", f"{name}_item", f"/v2.0/{kind.url}/{{item_id}}", ("GET", "DELETE"))


def bind(registry: Registry, core: NetworkCore) -> None:
    for name, kind in ENDPOINTS:
        registry.bind("network", name, Collection(core, kind))
        registry.bind("network", f"{name}_item", Item(core, kind))
