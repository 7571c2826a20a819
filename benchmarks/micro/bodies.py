"""Typical Keystone bodies and request schemas shared by the micro-benchmarks.

The schemas follow the shape of Keystone's own (keystone/auth/schema.py and
keystone/identity/schema.py), written out here so the benchmark is stable while the API code
changes.
"""

from __future__ import annotations

import uuid
from typing import Any


def _id() -> str:
    return uuid.uuid4().hex


SERVICES = [("identity", "keystone", "/identity"), ("compute", "nova", "/compute/v2.1"),
            ("image", "glance", "/image"), ("block-storage", "cinderv3", "/volume/v3"),
            ("volumev3", "cinderv3", "/volume/v3"), ("network", "neutron", "/networking"),
            ("cdn", "poppy", "/cdn/v1.0")]


def catalog(regions: int = 2) -> list[dict[str, Any]]:
    out = []
    for kind, name, path in SERVICES:
        endpoints = []
        for r in range(regions):
            region = "RegionOne" if r == 0 else f"region-{r}"
            for iface in ("public", "internal", "admin"):
                endpoints.append({"id": _id(), "interface": iface, "region": region, "region_id": region,
                                  "url": f"http://127.0.0.1:8780{path}"})
        out.append({"id": _id(), "type": kind, "name": name, "endpoints": endpoints})
    return out


def token_response() -> dict[str, Any]:
    """A project-scoped v3 token with a two-region catalog (about 4.5 kB of JSON)."""
    domain = {"id": "default", "name": "Default"}
    return {"token": {
        "methods": ["password"],
        "user": {"id": _id(), "name": "demo", "domain": domain, "password_expires_at": None},
        "audit_ids": ["x5fZ0vD3TkWcPaSB1VqJYA"],
        "expires_at": "2026-01-01T12:00:00.000000Z",
        "issued_at": "2026-01-01T11:00:00.000000Z",
        "project": {"id": _id(), "name": "demo", "domain": domain},
        "is_domain": False,
        "roles": [{"id": _id(), "name": n} for n in ("member", "reader", "load-balancer_member")],
        "catalog": catalog(),
    }}


def user_list(n: int = 100) -> dict[str, Any]:
    """``GET /v3/users`` with ``n`` users (about 30 kB at n=100)."""
    return {"users": [{
        "id": (uid := _id()), "name": f"user-{i}", "domain_id": "default", "enabled": True,
        "email": f"user-{i}@example.com", "description": "benchmark user", "default_project_id": _id(),
        "password_expires_at": None, "options": {}, "links": {"self": f"http://127.0.0.1:8780/identity/v3/users/{uid}"},
    } for i in range(n)], "links": {"self": "http://127.0.0.1:8780/identity/v3/users", "previous": None, "next": None}}


def auth_request() -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"name": "Default"}, "password": "s3cret-pa55word"}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
    }}


def user_create_request() -> dict[str, Any]:
    return {"user": {"name": "james", "domain_id": "default", "default_project_id": _id(),
                     "enabled": True, "password": "secretsecret", "description": "James Doe",
                     "email": "jdoe@example.com", "options": {"ignore_password_expiry": False}}}


_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_REF = {"type": "object", "properties": {"id": _ID, "name": _NAME}}
_DOMAIN_REF = {**_REF, "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}
_USER = {
    "type": "object",
    "properties": {"id": _ID, "name": _NAME, "password": {"type": "string"}, "domain": _DOMAIN_REF},
    "anyOf": [{"required": ["id"]}, {"required": ["name", "domain"]}],
}

AUTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["auth"],
    "properties": {"auth": {
        "type": "object",
        "required": ["identity"],
        "properties": {
            "identity": {
                "type": "object",
                "required": ["methods"],
                "properties": {
                    "methods": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "password": {"type": "object", "required": ["user"],
                                 "properties": {"user": {**_USER, "required": ["password"]}}},
                    "token": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                    "application_credential": {
                        "type": "object", "required": ["secret"],
                        "properties": {"id": _ID, "name": _NAME, "secret": {"type": "string"}, "user": _USER},
                        "anyOf": [{"required": ["id"]}, {"required": ["name", "user"]}],
                    },
                },
            },
            "scope": {"anyOf": [
                {"type": "string", "enum": ["unscoped"]},
                {"type": "object", "properties": {
                    "project": {**_REF, "properties": {**_REF["properties"], "domain": _DOMAIN_REF},
                                "anyOf": [{"required": ["id"]}, {"required": ["name", "domain"]}]},
                    "domain": _DOMAIN_REF,
                    "system": {"type": "object", "properties": {"all": {"type": "boolean"}},
                               "additionalProperties": False},
                    "OS-TRUST:trust": {"type": "object", "properties": {"id": _ID}},
                }},
            ]},
        },
    }},
}

USER_CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": _NAME,
            "domain_id": _ID,
            "default_project_id": {"type": ["string", "null"], "maxLength": 64},
            "description": {"type": ["string", "null"]},
            "enabled": {"type": "boolean"},
            "email": {"type": ["string", "null"]},
            "password": {"type": ["string", "null"], "maxLength": 4096},
            "federated": {"type": "array"},
            "options": {"type": "object", "properties": {
                "ignore_password_expiry": {"type": ["boolean", "null"]},
                "ignore_change_password_upon_first_use": {"type": ["boolean", "null"]},
                "ignore_lockout_failure_attempts": {"type": ["boolean", "null"]},
                "multi_factor_auth_enabled": {"type": ["boolean", "null"]},
                "multi_factor_auth_rules": {"type": ["array", "null"],
                                            "items": {"type": "array", "items": {"type": "string"}}},
            }, "additionalProperties": False},
        },
        "additionalProperties": True,
    }},
}
