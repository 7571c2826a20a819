"""/services, /services/{id}, its assets (purge) and analytics: wire format only."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import falcon

from overcast.api import faults
from overcast.api.cdn.common import Links, accepted, one, project_caller
from overcast.api.cdn.views import CdnViews
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.cdn import CdnCore
from overcast.core.cdn import health as core_health
from overcast.core.cdn import services as core

DEFAULT_LIMIT = 10


class _Base:
    def __init__(self, cdn: CdnCore, views: CdnViews, links: Links):
        self.core = cdn
        self.views = views
        self.links = links


def _limit(req: falcon.Request, most: int) -> int:
    raw = one(req, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise faults.BadRequest(f"Limit should be an integer greater than 0 and less or equal to {most}") from None
    if limit <= 0:
        raise faults.BadRequest("Limit should be greater than 0")
    if limit > most:
        raise faults.BadRequest(f"Limit should be less than or equal to {most}")
    return limit


class Services(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = project_caller(req, "cdn:service:list")
        limit = _limit(req, self.core.settings.cdn.max_services_per_page)
        marker = one(req, "marker")
        if marker is not None:
            try:
                marker = core.check_id(marker)
            except Exception:
                raise faults.BadRequest("Marker must be a valid UUID") from None
        with self.core.store.session() as session:
            rows, more = core.list_services(session, caller.project_id, marker, limit)
            services = [self.views.service(s) for s in rows]
        links = []
        if more:
            links.append({"href": f"{self.links.base}/services?{urlencode({'marker': rows[-1].id, 'limit': limit})}",
                          "rel": "next"})
        resp.media = {"links": links, "services": services}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = project_caller(req, "cdn:service:create")
        body = read_json(req)
        with self.core.store.session() as session:
            service = core.create(self.core, session, caller, body)
            service_id = service.id
        accepted(resp, self.links.service(service_id))


class Service(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        caller = project_caller(req, "cdn:service:get")
        with self.core.store.session() as session:
            resp.media = self.views.service(core.get_service(session, caller.project_id, service_id))

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        caller = project_caller(req, "cdn:service:update")
        patch = read_json(req, core.PATCH_SCHEMA)
        with self.core.store.session() as session:
            service = core.update(self.core, session, caller, service_id, patch)
            location = self.links.service(service.id)
        accepted(resp, location)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        caller = project_caller(req, "cdn:service:delete")
        with self.core.store.session() as session:
            core.delete(session, caller, core.get_service(session, caller.project_id, service_id, lock=True))
        accepted(resp)


class Assets(_Base):
    def on_delete(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        caller = project_caller(req, "cdn:service:purge")
        url, hard = core.parse_purge(one(req, "url"), one(req, "hard"), one(req, "all"))
        with self.core.store.session() as session:
            service = core.get_service(session, caller.project_id, service_id)
            core.purge(self.core, session, caller, service, url, hard)
            location = self.links.service(service.id)
        accepted(resp, location)


class Analytics(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        caller = project_caller(req, "cdn:service:analytics")
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        start = core_health.parse_time("startTime", one(req, "startTime"), now - dt.timedelta(days=1))
        end = core_health.parse_time("endTime", one(req, "endTime"), now)
        metric = one(req, "metricType")
        with self.core.store.session() as session:
            service = core.get_service(session, caller.project_id, service_id)
            session.expunge_all()
        report = core_health.analytics(self.core, caller, service, one(req, "domain"), start, end, metric)
        domains = []
        for name in report["domains"]:
            entry = {"domain": name, **{k: v for k, v in report["totals"][name].items()
                                        if metric is None or k == metric}}
            entry["providers"] = {p: (None if figures is None else
                                      {k: v for k, v in figures.get(name, {}).items() if metric is None or k == metric})
                                  for p, figures in report["providers"].items()}
            domains.append(entry)
        resp.media = {"service_id": service.id, "startTime": start.strftime(core_health.TIME_FORMAT),
                      "endTime": end.strftime(core_health.TIME_FORMAT), "domains": domains}

    on_head = on_get


def bind(registry: Registry, cdn: CdnCore, views: CdnViews, links: Links) -> None:
    registry.bind("cdn", "services", Services(cdn, views, links))
    registry.bind("cdn", "service", Service(cdn, views, links))
    registry.bind("cdn", "service_assets", Assets(cdn, views, links))
    registry.bind("cdn", "service_analytics", Analytics(cdn, views, links))
