"""Who is calling: the facts a validated token carries, used by policy on every service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthContext:
    user_id: str
    user_domain_id: str
    methods: tuple[str, ...]
    #: effective role names (implied roles expanded) on the token's scope
    roles: frozenset[str]
    audit_ids: tuple[str, ...]
    issued_at: float
    expires_at: float
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    app_cred_id: str | None = None
    #: the trust a trust-scoped token (OS-TRUST) was issued with; its scope is the trust's project
    trust_id: str | None = None
    #: the OAuth1 access token an OAuth-scoped token (OS-OAUTH1) was issued with
    access_token_id: str | None = None

    @property
    def is_delegated(self) -> bool:
        """A token issued through delegation (a trust or an OAuth1 access token), which Keystone does
        not let authorise further delegation."""
        return bool(self.trust_id or self.access_token_id)

    @property
    def scope_type(self) -> str | None:
        if self.project_id:
            return "project"
        if self.domain_id:
            return "domain"
        if self.system:
            return "system"
        return None

    @property
    def is_admin(self) -> bool:
        """Cloud administrator: the admin role on any scope (Keystone without enforce_scope)."""
        return "admin" in self.roles

    def has_role(self, name: str) -> bool:
        return name in self.roles
