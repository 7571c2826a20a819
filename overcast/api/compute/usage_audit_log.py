"""``/os-instance_usage_audit_log``: Nova's audit of the last completed month per compute host.

Overcast runs no periodic usage audit (Nova's ``instance_usage_audit`` defaults to off), so every
compute host is reported as not run for the period, as Nova reports it then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, enforce
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as rules

_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def last_completed_month(before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Nova's ``last_completed_audit_period(unit='month')``: the month that ended at or before ``before``."""
    end = dt.datetime(before.year, before.month, 1)
    if end >= before:
        end = _previous_month(end)
    return _previous_month(end), end


def _previous_month(first: dt.datetime) -> dt.datetime:
    return dt.datetime(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def parse_before(text: str) -> dt.datetime:
    """:raises faults.BadRequest: not a ``YYYY-MM-DD HH:MM:SS[.ffffff]`` timestamp."""
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise faults.BadRequest(f"Invalid timestamp for date {text}")


class AuditLog:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def report(self, region: str, before: dt.datetime) -> dict[str, Any]:
        with self.core.store.session() as session:
            hosts = sorted({s.host for s in rules.list_services(session, region=region, binary="nova-compute")})
        begin, end = last_completed_month(before)
        return {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": len(hosts),
                "num_hosts_done": 0, "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
                "hosts_not_run": hosts, "total_instances": 0, "total_errors": 0,
                "overall_status": f"{len(hosts)} hosts not run", "log": {}}

    def on_get(self, req: falcon.Request, resp: falcon.Response, before_timestamp: str | None = None,
               **_: str) -> None:
        enforce(req, "compute:instance_usage_audit_log")
        if before_timestamp is None:
            resp.media = {"instance_usage_audit_logs": self.report(req.context.region, rules.now())}
        else:
            resp.media = {"instance_usage_audit_log": self.report(req.context.region, parse_before(before_timestamp))}

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    resource = AuditLog(core, links)
    registry.bind("compute", "v2_os_instance_usage_audit_logs", resource)
    registry.bind("compute", "v2_os_instance_usage_audit_log", resource)
