"""What a CDN service is: the document a user asks for (Poppy's service schema), its defaults, the
rules Poppy checked in code beyond the schema, and the typed spec a provider gets.

The same checks run on a POST body and on the result of a JSON Patch (a patched document is
validated as a whole, so a patch cannot produce a service a POST would refuse). Every refusal
names the field: ``domains[1].domain: www.example.com is listed twice``.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
from typing import Any, Mapping

import fastjsonschema

from overcast.core.errors import Invalid
from overcast.drivers.cdn.base import (CachingRule, Domain, Origin, PathRule, Restriction, RestrictionRule,
                                       ServiceSpec)

#: the fields of a service a user may set (GET shows them; a JSON Patch may change them)
FIELDS = ("name", "flavor_id", "domains", "origins", "caching", "restrictions", "log_delivery")

MAX_RULES = 50
DEFAULT_TTL = 86400

_PATH_RULE = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 256},
        "request_url": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
    "required": ["name", "request_url"],
    "additionalProperties": False,
}

#: Poppy's POST schema, in draft 7 (one object shape per item; the combinations Poppy expressed
#: with several alternative item schemas are checked in :func:`check`, where the message can
#: name the field)
SERVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 256},
        "flavor_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "domains": {
            "type": "array", "minItems": 1, "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "domain": {"type": "string", "minLength": 3, "maxLength": 253},
                    "protocol": {"type": "string", "enum": ["http", "https"]},
                    "certificate": {"type": ["string", "null"], "enum": ["shared", "san", "sni", "custom", None]},
                },
                "required": ["domain"],
                "additionalProperties": False,
            },
        },
        "origins": {
            "type": "array", "minItems": 1, "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "origin": {"type": "string", "minLength": 3, "maxLength": 253},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "ssl": {"type": "boolean"},
                    "rules": {"type": "array", "maxItems": MAX_RULES, "items": _PATH_RULE},
                    "hostheadertype": {"type": "string", "enum": ["domain", "origin", "custom"]},
                    "hostheadervalue": {"type": ["string", "null"], "maxLength": 253},
                },
                "required": ["origin"],
                "additionalProperties": False,
            },
        },
        "caching": {
            "type": "array", "maxItems": MAX_RULES,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 256},
                    "ttl": {"type": "integer", "minimum": 0, "maximum": 31536000},
                    "rules": {"type": "array", "maxItems": MAX_RULES, "items": _PATH_RULE},
                },
                "required": ["name", "ttl"],
                "additionalProperties": False,
            },
        },
        "restrictions": {
            "type": "array", "maxItems": MAX_RULES,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 256},
                    "access": {"type": "string", "enum": ["whitelist", "blacklist"]},
                    "type": {"type": "string", "enum": ["whitelist", "blacklist"]},
                    "rules": {
                        "type": "array", "minItems": 1, "maxItems": MAX_RULES,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string", "minLength": 1, "maxLength": 256},
                                "referrer": {"type": "string", "minLength": 3, "maxLength": 1024},
                                "client_ip": {"type": "string", "minLength": 2, "maxLength": 64},
                                "geography": {"type": "string", "minLength": 2, "maxLength": 100},
                                "request_url": {"type": "string", "minLength": 1, "maxLength": 1024},
                            },
                            "required": ["name"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["name", "rules"],
                "additionalProperties": False,
            },
        },
        "log_delivery": {
            "type": "object",
            "properties": {"enabled": {"type": "boolean"}},
            "required": ["enabled"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "flavor_id", "domains", "origins"],
    "additionalProperties": False,
}

# Poppy accepts ascii host names only (no IDN); lower case after normalisation.
_HOSTNAME = re.compile(r"^((?=[a-z0-9-]{1,63}\.)[a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,63}$")
#: a shared-certificate domain is one label: the provider serves <label>.<its shared domain>
_SHARED_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]?$")
#: second-level labels under which country-code TLDs register names (example.co.uk is a root domain)
_CC_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "edu", "ac", "ltd", "plc", "me", "gen", "nom", "biz",
                    "info", "asn", "id", "or", "ne", "go", "gob", "mil", "sch", "nhs", "police", "web",
                    "k12", "tm", "gouv", "asso", "nic"}
#: Poppy's geography zones, besides ISO 3166 alpha-2 country codes
GEO_ZONES = {"North America", "South America", "Europe", "Africa", "Asia", "Australia", "Antarctica"}
RESTRICTION_KINDS = ("referrer", "client_ip", "geography")


def is_hostname(name: str) -> bool:
    return bool(_HOSTNAME.match(name)) and len(name) <= 253


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_root_domain(name: str) -> bool:
    """A name a CNAME cannot be put on (the zone's apex): ``example.com``, ``example.co.uk``."""
    labels = name.split(".")
    if len(labels) == 2:
        return True
    return len(labels) == 3 and len(labels[2]) == 2 and labels[1] in _CC_SECOND_LEVEL


def _path(url: str) -> str:
    return url if url.startswith("/") else "/" + url


def normalise(body: Mapping[str, Any]) -> dict[str, Any]:
    """The document as stored and shown: defaults filled in (protocol, port, ssl, host header,
    a default ``/*`` caching rule, log delivery), domains lower-cased, paths starting with ``/``.
    ``body`` passed :data:`SERVICE_SCHEMA`."""
    doc = {k: copy.deepcopy(body[k]) for k in FIELDS if k in body}
    for domain in doc["domains"]:
        domain["domain"] = domain["domain"].strip().lower()
        domain.setdefault("protocol", "http")
        if domain["protocol"] == "http":
            domain.pop("certificate", None)
    for index, origin in enumerate(doc["origins"]):
        origin["origin"] = origin["origin"].strip().lower()
        origin.setdefault("port", 443 if origin.get("ssl") else 80)
        origin.setdefault("ssl", False)
        origin.setdefault("hostheadertype", "domain")
        if origin["hostheadertype"] != "custom":
            origin.pop("hostheadervalue", None)
        rules = origin.get("rules") or []
        if index == 0 and not rules:
            rules = [{"name": "default", "request_url": "/*"}]
        origin["rules"] = [{"name": r["name"], "request_url": _path(r["request_url"])} for r in rules]
    caching = doc.get("caching") or []
    for index, rule in enumerate(caching):
        rules = rule.get("rules") or []
        if not rules and index == 0:
            rules = [{"name": rule["name"], "request_url": "/*"}]
        rule["rules"] = [{"name": r["name"], "request_url": _path(r["request_url"])} for r in rules]
    if not any(r["request_url"] == "/*" for rule in caching for r in rule["rules"]):
        caching.append({"name": "default", "ttl": DEFAULT_TTL, "rules": [{"name": "default", "request_url": "/*"}]})
    doc["caching"] = caching
    restrictions = doc.get("restrictions") or []
    for restriction in restrictions:
        restriction["access"] = restriction.pop("type", None) or restriction.get("access") or "blacklist"
        for rule in restriction["rules"]:
            if "request_url" in rule:
                rule["request_url"] = _path(rule["request_url"])
            if "referrer" in rule:
                rule["referrer"] = rule["referrer"].strip().lower()
    doc["restrictions"] = restrictions
    doc["log_delivery"] = {"enabled": bool((doc.get("log_delivery") or {}).get("enabled", False))}
    return doc


def check(doc: Mapping[str, Any]) -> None:
    """Poppy's rules beyond the schema, on a normalised document.

    :raises Invalid: naming the field.
    """
    _check_domains(doc["domains"])
    _check_origins(doc["origins"], {d["domain"] for d in doc["domains"]})
    seen: dict[str, str] = {}
    for i, rule in enumerate(doc["caching"]):
        if i > 0 and not rule["rules"]:
            raise Invalid(f"caching[{i}].rules: a caching rule after the first needs at least one rule")
        for j, path in enumerate(rule["rules"]):
            url = path["request_url"]
            if url in seen:
                raise Invalid(f"caching[{i}].rules[{j}].request_url: The path {url} already exists for another "
                              f"caching rule on this service ({seen[url]})")
            seen[url] = f"caching[{i}]"
    _check_restrictions(doc["restrictions"])


def _check_domains(domains: list[Mapping[str, Any]]) -> None:
    seen: set[str] = set()
    for i, domain in enumerate(domains):
        name, protocol, certificate = domain["domain"], domain["protocol"], domain.get("certificate")
        where = f"domains[{i}]"
        if name in seen:
            raise Invalid(f"{where}.domain: The domain {name} is listed twice on this service")
        seen.add(name)
        if protocol == "https" and certificate is None:
            raise Invalid(f"{where}.certificate: an https domain needs a certificate (shared, san, sni or custom)")
        if protocol == "https" and certificate == "shared":
            if not _SHARED_LABEL.match(name):
                raise Invalid(f"{where}.domain: {name} is not valid for a shared certificate, which takes one "
                              f"label (e.g. mysite)")
            continue
        if not is_hostname(name):
            raise Invalid(f"{where}.domain: Domain {name} is not a valid domain")
        if is_root_domain(name):
            raise Invalid(f"{where}.domain: {name} is a root domain. Most DNS providers do not allow setting a "
                          f"CNAME on a root domain. Please add a subdomain (e.g. www.{name})")


def _check_origins(origins: list[Mapping[str, Any]], domains: set[str]) -> None:
    seen_origins: set[str] = set()
    seen_paths: dict[str, int] = {}
    for i, origin in enumerate(origins):
        where = f"origins[{i}]"
        name = origin["origin"]
        if not (is_hostname(name) or is_ip(name)):
            raise Invalid(f"{where}.origin: Origin {name} is not valid (a host name or an IP address)")
        if name in domains:
            raise Invalid(f"{where}.origin: Domains and origins cannot be the same: {name}")
        key = f"{'https' if origin['ssl'] else 'http'}://{name}:{origin['port']}"
        if key in seen_origins:
            raise Invalid(f"{where}.origin: The origin {key} already exists for another origin on this service")
        seen_origins.add(key)
        if i > 0 and not origin["rules"]:
            raise Invalid(f"{where}.rules: an origin after the first needs at least one rule (the paths it serves)")
        for j, rule in enumerate(origin["rules"]):
            url = rule["request_url"]
            if url in seen_paths:
                raise Invalid(f"{where}.rules[{j}].request_url: The path {url} already exists for another origin "
                              f"on this service (origins[{seen_paths[url]}])")
            seen_paths[url] = i
        if origin["hostheadertype"] == "custom":
            value = origin.get("hostheadervalue")
            if not value:
                raise Invalid(f"{where}.hostheadervalue: a custom host header needs a value")
            if not is_hostname(value.lower()):
                raise Invalid(f"{where}.hostheadervalue: The host header {value} is not valid")


def _check_restrictions(restrictions: list[Mapping[str, Any]]) -> None:
    kinds_by_access: dict[str, dict[str, set[str]]] = {"whitelist": {}, "blacklist": {}}
    for i, restriction in enumerate(restrictions):
        access = restriction["access"]
        for j, rule in enumerate(restriction["rules"]):
            where = f"restrictions[{i}].rules[{j}]"
            kinds = [k for k in RESTRICTION_KINDS if k in rule]
            if len(kinds) != 1:
                raise Invalid(f"{where}: a rule names exactly one of referrer, client_ip or geography")
            kind = kinds[0]
            value = rule[kind]
            if kind == "referrer" and not is_hostname(value):
                raise Invalid(f"{where}.referrer: Referrer {value} is not a valid domain")
            if kind == "client_ip":
                try:
                    ipaddress.ip_network(value, strict=False)
                except ValueError:
                    raise Invalid(f"{where}.client_ip: {value} is not an IP address or CIDR") from None
            if kind == "geography" and not (re.fullmatch(r"[A-Z]{2}", value) or value in GEO_ZONES):
                raise Invalid(f"{where}.geography: {value} is not an ISO 3166 country code or one of "
                              f"{', '.join(sorted(GEO_ZONES))}")
            path = rule.get("request_url", "/*")
            kinds_by_access[access].setdefault(path, set()).add(kind)
    for path, allowed in kinds_by_access["whitelist"].items():
        both = sorted(allowed & kinds_by_access["blacklist"].get(path, set()))
        if both:
            raise Invalid(f"restrictions: Cannot blacklist and whitelist {', '.join(both)} on {path} at the same "
                          f"time")


@functools.lru_cache(maxsize=None)
def _validator() -> Any:
    return fastjsonschema.compile(SERVICE_SCHEMA)


def validate(body: Any) -> dict[str, Any]:
    """A POST body or a patched document: the schema, the defaults, then Poppy's rules.

    Returns the normalised document. :raises Invalid: naming the field.
    """
    try:
        _validator()(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        name = exc.name or "data"
        field = name[5:] if name.startswith("data.") else ("body" if name == "data" else name)
        detail = exc.message.replace(name, field, 1)
        raise Invalid(f"Invalid input for field '{field}': {detail}.") from None
    doc = normalise(body)
    check(doc)
    return doc


def to_spec(service_id: str, project_id: str, doc: Mapping[str, Any], *, enabled: bool = True) -> ServiceSpec:
    """The typed spec a provider deploys, from a stored document."""
    def rules(items: Any) -> tuple[PathRule, ...]:
        return tuple(PathRule(r["name"], r["request_url"]) for r in items or ())

    restrictions = []
    for restriction in doc.get("restrictions") or ():
        items = []
        for rule in restriction["rules"]:
            kind = next(k for k in RESTRICTION_KINDS if k in rule)
            items.append(RestrictionRule(name=rule["name"], kind=kind, value=rule[kind],
                                         request_url=rule.get("request_url", "/*")))
        restrictions.append(Restriction(name=restriction["name"], access=restriction["access"], rules=tuple(items)))
    return ServiceSpec(
        service_id=service_id, project_id=project_id,
        domains=tuple(Domain(d["domain"], d.get("protocol", "http"), d.get("certificate")) for d in doc["domains"]),
        origins=tuple(Origin(origin=o["origin"], port=o["port"], ssl=o["ssl"], rules=rules(o.get("rules")),
                             host_header_type=o.get("hostheadertype", "domain"),
                             host_header_value=o.get("hostheadervalue")) for o in doc["origins"]),
        caching=tuple(CachingRule(c["name"], c["ttl"], rules(c.get("rules"))) for c in doc.get("caching") or ()),
        restrictions=tuple(restrictions),
        log_delivery=bool((doc.get("log_delivery") or {}).get("enabled")), enabled=enabled)
