"""Faults on demand, for test suites (docs/decisions/0036-faults-on-demand.md).

Rules live in the database (table ``injected_fault``), so every server and worker process sees
the same ones and a "fail the next N" counts N across all of them. Off by default: with neither
``[testing] admin_api`` nor a ``[[faults]]`` table in the configuration, no driver is wrapped and
no request is looked at.

Kinds of rule:

``fail``
    The next ``count`` matching driver calls (every one, without ``count``) raise ``error``
    (``BuildFailed``, ``DeleteFailed``, ``Conflict``, ``NotFound``, ``InvalidRequest``,
    ``QuotaExceeded``, ``Unavailable``, ``DriverError``) with ``message``.
``delay``
    Every matching driver call takes ``seconds`` longer.
``unavailable``
    Every driver call for the region raises ``Unavailable`` for ``seconds`` from now: the operations
    engine retries and its breaker for the region opens, as in a real outage.
``http``
    A matching API request is answered ``status`` (503) with probability ``probability`` (1), in
    the service's own error format, for the next ``count`` requests (every one, without ``count``).
``truncate``
    A matching API list answers only its first ``keep`` (0) items, with no link to a next page, as
    a backend whose listing is cut short (a truncated page, an eventually consistent index): the
    next ``count`` lists (every one, without ``count``), with probability ``probability`` (1).

Driver calls are matched by ``region`` and ``family`` (``compute``, ``volume``, ``network``; ``*``
for any) and ``action``: a driver method (``build``, ``delete``, ``attach_volume``), the start of
one (``attach`` matches ``attach_volume`` and ``attach_port``) or ``*``. Requests (``http``, ``truncate``) are matched by
``endpoint``: a named endpoint (``compute:v2_servers_detail``, see ``overcast coverage``), a whole
service (``compute:*``) or ``*``, and ``action``, the HTTP method or ``*``.

Every fault applied is logged at WARNING by ``overcast.faults`` as "injected fault #N ...".
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import delete, select, update

from overcast.config import Settings
from overcast.core.cache import StampedCache
from overcast.core.errors import Invalid, NotFound
from overcast.drivers import errors as driver_errors
from overcast.store.db import Store
from overcast.store.testing import InjectedFault

LOG = logging.getLogger("overcast.faults")

KINDS = ("fail", "delay", "unavailable", "http", "truncate")
#: the kinds that act on API requests, not driver calls
REQUEST_KINDS = ("http", "truncate")
FAMILIES = ("compute", "volume", "network", "image", "cdn")
ERRORS: dict[str, type[driver_errors.DriverError]] = {
    cls.__name__: cls for cls in (
        driver_errors.DriverError, driver_errors.NotFound, driver_errors.Conflict, driver_errors.InvalidRequest,
        driver_errors.NotSupported, driver_errors.BuildFailed, driver_errors.DeleteFailed,
        driver_errors.Unavailable, driver_errors.QuotaExceeded)}
#: attributes of a driver that are never intercepted
PASSTHROUGH = frozenset({"close", "capabilities"})
#: fields a rule may be given, per kind (beyond kind, region, family, action)
_FIELDS = {
    "fail": {"count", "error", "message"},
    "delay": {"seconds"},
    "unavailable": {"seconds", "message"},
    "http": {"endpoint", "probability", "status", "count", "message"},
    "truncate": {"endpoint", "probability", "keep", "count"},
}
_COMMON = {"kind", "region", "family", "action"}


def enabled(settings: Settings) -> bool:
    return settings.testing.admin_api or bool(settings.faults)


def _number(body: Mapping[str, Any], name: str, kind: type, low: float, high: float | None = None) -> Any:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise Invalid(f"Invalid input for field/attribute {name}. Value: {value!r}. "
                      f"{value!r} is not of type '{'integer' if kind is int else 'number'}'")
    if value < low or (high is not None and value > high):
        raise Invalid(f"Invalid input for field/attribute {name}. Value: {value!r}. It must be between "
                      f"{low} and {high if high is not None else 'any'}.")
    return kind(value)


def _text(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = body[name]
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Invalid(f"Invalid input for field/attribute {name}. Value: {value!r}. "
                      f"It must be a non-empty string of at most {limit} characters.")
    return value


def validate(body: Any, *, regions: Iterable[str] = (), endpoints: Iterable[str] = (),
             source: str = "api") -> dict[str, Any]:
    """The columns of a rule from its description. :raises Invalid: naming the field at fault."""
    if not isinstance(body, Mapping):
        raise Invalid("A fault must be an object.")
    kind = body.get("kind")
    if kind not in KINDS:
        raise Invalid(f"Invalid input for field/attribute kind. Value: {kind!r}. It must be one of "
                      f"{', '.join(KINDS)}.")
    unknown = sorted(set(body) - _COMMON - _FIELDS[kind])
    if unknown:
        raise Invalid(f"Invalid input for field/attribute {unknown[0]}: a {kind} fault does not take it "
                      f"(it takes {', '.join(sorted(_COMMON | _FIELDS[kind]))}).")
    row: dict[str, Any] = {"source": source, "kind": kind, "region": "*", "family": "*", "action": "*"}
    for name in ("region", "family", "action"):
        if name in body:
            row[name] = _text(body, name, 64 if name == "action" else 255)
    regions = list(regions)
    if row["region"] != "*" and regions and row["region"] not in regions:
        raise Invalid(f"Invalid input for field/attribute region. Value: {row['region']!r}. "
                      f"Configured regions: {', '.join(regions)}.")
    if row["family"] not in (*FAMILIES, "*"):
        raise Invalid(f"Invalid input for field/attribute family. Value: {row['family']!r}. It must be one of "
                      f"{', '.join(FAMILIES)} or *.")
    if "message" in body:
        row["message"] = _text(body, "message", 1000)
    if "count" in body:
        row["remaining"] = _number(body, "count", int, 1)
    if kind == "fail":
        error = body.get("error") or _default_error(row["action"])
        if error not in ERRORS:
            raise Invalid(f"Invalid input for field/attribute error. Value: {error!r}. It must be one of "
                          f"{', '.join(sorted(ERRORS))}.")
        row["error"] = error
    elif kind in ("delay", "unavailable"):
        if "seconds" not in body:
            raise Invalid(f"Missing field/attribute seconds: a {kind} fault needs it.")
        row["seconds"] = _number(body, "seconds", float, 0, 3600)
        if kind == "unavailable":
            row["until"] = time.time() + row["seconds"]
    else:
        row["endpoint"] = _text(body, "endpoint", 255) if "endpoint" in body else "*"
        known = set(endpoints)
        services = {name.split(":", 1)[0] + ":*" for name in known}
        if known and row["endpoint"] != "*" and row["endpoint"] not in known | services:
            raise Invalid(f"Invalid input for field/attribute endpoint. Value: {row['endpoint']!r}. It must be a "
                          f"named endpoint as `overcast coverage` lists them (service:name), service:* or *.")
        row["probability"] = _number(body, "probability", float, 0, 1) if "probability" in body else 1.0
        if kind == "truncate":  # the items a list keeps, in the rule's integer column
            row["status"] = _number(body, "keep", int, 0) if "keep" in body else 0
        else:
            row["status"] = _number(body, "status", int, 400, 599) if "status" in body else 503
    return row


def _default_error(action: str) -> str:
    if action.startswith(("build", "create")):
        return "BuildFailed"
    if action.startswith(("delete", "detach")):
        return "DeleteFailed"
    return "DriverError"


def view(rule: InjectedFault) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "source": rule.source, "kind": rule.kind, "region": rule.region,
                           "family": rule.family, "action": rule.action, "injected": rule.injected}
    for name in ("endpoint", "error", "message", "seconds", "probability", "status"):
        if getattr(rule, name) is not None:
            out["keep" if name == "status" and rule.kind == "truncate" else name] = getattr(rule, name)
    if rule.remaining is not None:
        out["remaining"] = rule.remaining
    if rule.until is not None:
        out["until"] = rule.until
    return out


def _matches_action(rule_action: str, method: str) -> bool:
    return rule_action == "*" or method == rule_action or method.startswith(rule_action + "_")


class FaultBook:
    """This process's view of the rules: cached (reloaded when any process changes them, or after
    a second), applied to driver calls and requests."""

    def __init__(self, settings: Settings, store: Store, *, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.store = store
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._rules = StampedCache(settings.data_dir / "faults.stamp", 1.0, self._load)
        #: the named endpoints (``service:name``) an ``http`` rule may name; set by the app
        self.endpoints: frozenset[str] = frozenset()

    def _load(self) -> list[InjectedFault]:
        with self.store.session() as session:
            rows = list(session.scalars(select(InjectedFault).order_by(InjectedFault.id)))
            for row in rows:  # kept beyond this session (inside a request: the request's), as plain values
                session.expunge(row)
            return rows

    def _changed(self) -> None:
        self._rules.invalidate()

    # -- management -----------------------------------------------------------------------------
    def rules(self) -> list[dict[str, Any]]:
        return [view(r) for r in self._load()]

    def add(self, body: Any, *, source: str = "api") -> dict[str, Any]:
        """:raises Invalid: a bad description (the message names the field)."""
        row = validate(body, regions=self.settings.regions, endpoints=self.endpoints, source=source)
        with self.store.session() as session:
            rule = InjectedFault(**row)
            session.add(rule)
            session.flush()
            shown = view(rule)
        self._changed()
        LOG.warning("fault #%d added (%s): %s", shown["id"], source, shown)
        return shown

    def remove(self, rule_id: int) -> None:
        """:raises NotFound: no such rule."""
        with self.store.session() as session:
            if session.execute(delete(InjectedFault).where(InjectedFault.id == rule_id)).rowcount == 0:
                raise NotFound(f"No fault {rule_id}.")
        self._changed()

    def clear(self, source: str | None = "api") -> int:
        """Remove the rules made through the API (``source=None``: every rule)."""
        query = delete(InjectedFault)
        if source is not None:
            query = query.where(InjectedFault.source == source)
        with self.store.session() as session:
            removed = session.execute(query).rowcount
        self._changed()
        return removed

    def sync_config(self) -> None:
        """Replace the rules of the configuration's ``[[faults]]`` with fresh ones (counters restart).

        :raises Invalid: a bad ``[[faults]]`` table (the message names it and the field).
        """
        rows = []
        for n, body in enumerate(self.settings.faults, 1):
            try:
                rows.append(validate(body, regions=self.settings.regions, endpoints=self.endpoints,
                                     source="config"))
            except Invalid as exc:
                raise Invalid(f"[[faults]] number {n}: {exc.message}") from None
        with self.store.session() as session:
            session.execute(delete(InjectedFault).where(InjectedFault.source == "config"))
            session.add_all(InjectedFault(**row) for row in rows)
        self._changed()

    # -- applying -------------------------------------------------------------------------------
    def _active(self) -> list[InjectedFault]:
        now = time.time()
        return [r for r in self._rules.get()
                if (r.remaining is None or r.remaining > 0) and (r.until is None or r.until > now)]

    def _consume(self, rule: InjectedFault) -> bool:
        """Count one use; False when another process used the last one first."""
        query = update(InjectedFault).where(InjectedFault.id == rule.id).values(injected=InjectedFault.injected + 1)
        if rule.remaining is not None:
            query = query.where(InjectedFault.remaining > 0).values(remaining=InjectedFault.remaining - 1)
        # its own transaction: a use counts even when the request it answers fails (a 5xx commits nothing)
        with self.store.independent_session() as session:
            used = session.execute(query).rowcount > 0
        if rule.remaining is not None:
            self._changed()
        return used

    def before_call(self, region: str, families: frozenset[str], method: str) -> None:
        """Apply the rules matching a driver call: sleep, or raise the injected error."""
        for rule in self._active():
            if rule.kind in REQUEST_KINDS or rule.region not in ("*", region):
                continue
            if rule.family != "*" and rule.family not in families:
                continue
            if rule.kind != "unavailable" and not _matches_action(rule.action, method):
                continue
            where = f"{region} {'/'.join(sorted(families))}.{method}"
            if rule.kind == "unavailable":
                left = max(0.0, (rule.until or 0) - time.time())
                LOG.warning("injected fault #%d: %s: region unavailable for %.1f s more", rule.id, where, left)
                raise driver_errors.Unavailable(rule.message or f"Injected fault #{rule.id}: region {region} is "
                                                f"unavailable", retry_after=left)
            if not self._consume(rule):
                continue
            if rule.kind == "delay":
                LOG.warning("injected fault #%d: %s: delayed %.2f s", rule.id, where, rule.seconds or 0)
                self._sleep(rule.seconds or 0)
                continue
            error = ERRORS[rule.error or "DriverError"]
            message = rule.message or f"Injected fault #{rule.id}: {method} failed"
            LOG.warning("injected fault #%d: %s: raised %s: %s", rule.id, where, error.__name__, message)
            raise error(message)

    def _request_rule(self, kind: str, endpoint: str | None, method: str) -> InjectedFault | None:
        """The first rule of ``kind`` matching a request that applies this time (counted), if any."""
        for rule in self._active():
            if rule.kind != kind or rule.action not in ("*", method):
                continue
            target = rule.endpoint or "*"
            if not (target == "*" or target == endpoint or (
                    target.endswith(":*") and endpoint is not None and endpoint.startswith(target[:-1]))):
                continue
            if self._rng.random() >= (rule.probability if rule.probability is not None else 1.0):
                continue
            if not self._consume(rule):
                continue
            return rule
        return None

    def for_request(self, endpoint: str | None, method: str) -> tuple[int, str] | None:
        """(status, message) when a rule answers this request instead of the API, else None."""
        rule = self._request_rule("http", endpoint, method)
        if rule is None:
            return None
        message = rule.message or f"Injected fault #{rule.id}: service unavailable"
        LOG.warning("injected fault #%d: %s %s answered %d", rule.id, method, endpoint or "-", rule.status or 503)
        return rule.status or 503, message

    def truncation(self, endpoint: str | None, method: str) -> int | None:
        """How many items this request's list answer keeps when a ``truncate`` rule cuts it, else None."""
        if not any(r.kind == "truncate" for r in self._active()):
            return None
        rule = self._request_rule("truncate", endpoint, method)
        if rule is None:
            return None
        keep = int(rule.status or 0)
        LOG.warning("injected fault #%d: %s %s list cut to %d items", rule.id, method, endpoint or "-", keep)
        return keep


class FaultyDriver:
    """A cloud's driver for one or more families, with the fault rules applied before each call."""

    def __init__(self, inner: Any, region: str, families: frozenset[str], book: FaultBook):
        self._inner = inner
        self._region = region
        self._families = families
        self._book = book

    @property
    def inner(self) -> Any:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or name in PASSTHROUGH or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._book.before_call(self._region, self._families, name)
            return attr(*args, **kwargs)

        call.__name__ = name
        return call

    def __repr__(self) -> str:
        return f"FaultyDriver({self._inner!r})"


def wrap(clouds: Mapping[str, Any], book: FaultBook) -> dict[str, Any]:
    """Every family of every cloud behind a :class:`FaultyDriver` (one per driver object)."""
    for region, cloud in clouds.items():
        by_object: dict[int, list[str]] = {}
        for family, driver in cloud.families().items():
            by_object.setdefault(id(driver), []).append(family)
        wrappers: dict[int, FaultyDriver] = {}
        for family, driver in cloud.families().items():
            if id(driver) not in wrappers:
                wrappers[id(driver)] = FaultyDriver(driver, region, frozenset(by_object[id(driver)]), book)
            setattr(cloud, family, wrappers[id(driver)])
    return dict(clouds)
