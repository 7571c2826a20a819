"""Authentication: Keystone's methods (password, token, application_credential), scope
resolution, effective roles, and the facts a token response renders.

Every failure to prove identity is the same 401, whatever the cause, so callers cannot tell an
unknown user from a wrong password; both cost one bcrypt check.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, NotFound, Unauthorized
from overcast.core.identity import IdentityCore
from overcast.core.identity import oauth1 as core_oauth1
from overcast.core.identity import trusts as core_trusts
from overcast.core.identity.assignments import effective_roles
from overcast.core.identity.catalog import for_project
from overcast.core.tokens import TokenError
from overcast.store.models import (ROOT_DOMAIN_ID, ApplicationCredential, Domain, OAuth1AccessToken, Project, Role,
                                   Trust, User, utcnow)

AUTH_FAILED = "The request you have made requires authentication."
#: a token shows no project tags: do not load them on the login path
_NO_TAGS = (lazyload(Project.tags),)


@dataclass
class TokenFacts:
    """What a token response shows, read from the records for a validated :class:`AuthContext`."""

    ctx: AuthContext
    user: User
    user_domain: Domain
    roles: list[Role]
    project: Project | None = None
    project_domain: Domain | None = None
    domain: Domain | None = None
    app_cred: ApplicationCredential | None = None
    catalog: list[dict[str, Any]] | None = None
    trust: Trust | None = None
    #: the OAuth1 access token an OAuth-scoped token was issued with
    access_token: OAuth1AccessToken | None = None


def _find_domain(session: Session, ref: dict[str, Any] | None) -> Domain | None:
    if not ref:
        return None
    if "id" in ref:
        return session.get(Domain, ref["id"])
    if "name" in ref:
        return session.scalar(select(Domain).where(Domain.name == ref["name"]))
    return None


def _find_user(session: Session, ref: dict[str, Any]) -> User | None:
    if "id" in ref:
        return session.get(User, ref["id"])
    domain = _find_domain(session, ref.get("domain"))
    if domain is None or "name" not in ref:
        return None
    return session.scalar(select(User).where(User.domain_id == domain.id, User.name == ref["name"]))


class Authenticator:
    def __init__(self, core: IdentityCore):
        self.core = core

    # -- identity methods ---------------------------------------------------------------
    def _check_lockout(self, user: User) -> None:
        limit = self.core.settings.identity.lockout_failure_attempts
        if (not limit or user.failed_auth_count < limit or user.failed_auth_at is None
                or user.options.get("ignore_lockout_failure_attempts")):
            return
        if user.failed_auth_at + dt.timedelta(seconds=self.core.settings.identity.lockout_duration) > utcnow():
            raise Unauthorized(f"The account is locked for user: {user.id}.")

    def _record_failure(self, user_id: str) -> None:
        # its own transaction: the request answers 401 and the count must stay
        with self.core.store.independent_session() as session:
            user = session.get(User, user_id)
            if user is not None:
                user.failed_auth_count = (user.failed_auth_count or 0) + 1
                user.failed_auth_at = utcnow()

    def _password(self, session: Session, body: dict[str, Any]) -> User:
        ref = body.get("user") or {}
        user = _find_user(session, ref)
        password = ref.get("password", "")
        ok = self.core.hasher.verify(password, user.password_hash if user is not None else None)
        if user is None:
            raise Unauthorized(AUTH_FAILED)
        self._check_lockout(user)
        if not ok:
            self._record_failure(user.id)
            raise Unauthorized(AUTH_FAILED)
        if user.password_expires_at is not None and user.password_expires_at <= utcnow():
            raise Unauthorized(f"The password is expired and needs to be changed for user: {user.id}.")
        if user.failed_auth_count:
            user.failed_auth_count = 0
            user.failed_auth_at = None
        return user

    def _application_credential(self, session: Session, body: dict[str, Any]) -> ApplicationCredential:
        if "id" in body:
            cred = session.get(ApplicationCredential, body["id"])
        else:
            user = _find_user(session, body.get("user") or {})
            cred = None if user is None else session.scalar(select(ApplicationCredential).where(
                ApplicationCredential.user_id == user.id, ApplicationCredential.name == body.get("name")))
        ok = self.core.hasher.verify(body.get("secret", ""), cred.secret_hash if cred is not None else None)
        if cred is None or not ok:
            raise Unauthorized(AUTH_FAILED)
        if cred.expires_at is not None and cred.expires_at <= utcnow():
            raise Unauthorized(AUTH_FAILED)
        return cred

    # -- scope --------------------------------------------------------------------------
    def _scope_target(self, session: Session, scope: Any, user: User,
                      parent: AuthContext | None) -> tuple[Project | None, Domain | None, bool]:
        if scope == "unscoped":
            return None, None, False
        if not scope:
            if parent is not None:
                return None, None, False
            project = session.get(Project, user.default_project_id, options=_NO_TAGS) if user.default_project_id \
                else None
            if project is not None and project.enabled and effective_roles(session, user.id, project=project):
                return project, None, False
            return None, None, False
        if "project" in scope:
            ref = scope["project"]
            if "id" in ref:
                project = session.get(Project, ref["id"], options=_NO_TAGS)
            else:
                domain = _find_domain(session, ref.get("domain"))
                project = None if domain is None else session.scalar(
                    select(Project).where(Project.domain_id == domain.id, Project.name == ref.get("name"))
                    .options(*_NO_TAGS))
            if project is None:
                raise Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
            return project, None, False
        if "domain" in scope:
            domain = _find_domain(session, scope["domain"])
            if domain is None:
                ref = scope["domain"]
                raise Unauthorized(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
            return None, domain, False
        if "system" in scope:
            if scope["system"].get("all") is not True:
                raise Unauthorized("Only the 'all' system scope is supported.")
            return None, None, True
        raise Unauthorized("Unsupported scope.")

    # -- the whole flow -------------------------------------------------------------------
    def authenticate(self, auth: dict[str, Any], *, with_catalog: bool = True,
                     oauth1: "core_oauth1.SignedRequest | None" = None) -> tuple[str, TokenFacts]:
        """Authenticate a v3 ``auth`` body and issue a token. ``oauth1`` is the HTTP request, for
        the ``oauth1`` method (its signature is in the request's Authorization header).

        :raises Unauthorized: bad credentials, disabled or locked account, no role on the scope.
        :raises Forbidden: an application credential, trust or OAuth token asked for another token.
        """
        identity = auth["identity"]
        methods = list(dict.fromkeys(identity["methods"]))
        parent: AuthContext | None = None
        app_cred: ApplicationCredential | None = None
        with self.core.store.session() as session:
            if "oauth1" in methods:
                if oauth1 is None:
                    raise Unauthorized(AUTH_FAILED)
                access = core_oauth1.authenticate(session, self.core, oauth1)
                user = session.get(User, access.authorizing_user_id)
                project = session.get(Project, access.project_id)
                self._check_enabled(session, user, project, None)
                roles = core_oauth1.token_roles(session, access)
                return self._issue(session, user=user, methods=["oauth1"], roles=roles, project=project,
                                   access_token_id=access.id, with_catalog=with_catalog)
            if "password" in methods:
                user = self._password(session, identity.get("password") or {})
            elif "token" in methods:
                try:
                    parent = self.core.tokens.validate((identity.get("token") or {}).get("id", ""))
                except TokenError:
                    # Keystone: an invalid, expired or revoked token is not found (404), not a 401
                    raise NotFound("Failed to validate token") from None
                if parent.app_cred_id and auth.get("scope"):
                    raise Forbidden("Application credential tokens cannot be rescoped.")
                if parent.trust_id:
                    raise Forbidden("You are not authorized to perform the requested action: Using trust-scoped "
                                    "token to create another token. Create a new trust-scoped token instead.")
                if parent.access_token_id:
                    raise Forbidden("You are not authorized to perform the requested action: Using OAuth-scoped "
                                    "token to create another token. Create a new OAuth-scoped token instead.")
                user = session.get(User, parent.user_id)
                if user is None:
                    raise Unauthorized(AUTH_FAILED)
                if parent.app_cred_id:
                    app_cred = session.get(ApplicationCredential, parent.app_cred_id)
            elif "application_credential" in methods:
                app_cred = self._application_credential(session, identity.get("application_credential") or {})
                user = session.get(User, app_cred.user_id)
            else:
                raise Unauthorized(f"Unsupported authentication methods: {', '.join(methods)}.")

            self._check_enabled(session, user, None, None)
            scope = auth.get("scope")
            trust: Trust | None = None
            trust_roles: list[Role] | None = None
            if app_cred is not None:
                if scope and not parent:
                    raise Unauthorized("Application credentials cannot request a scope.")
                project = session.get(Project, app_cred.project_id)
                domain, system = None, False
            elif isinstance(scope, dict) and "OS-TRUST:trust" in scope:
                trust, user, project, trust_roles = core_trusts.for_token(
                    session, scope["OS-TRUST:trust"]["id"], user)
                self._check_enabled(session, user, None, None)
                domain, system = None, False
            else:
                project, domain, system = self._scope_target(session, auth.get("scope"), user, parent)
                if parent is not None and not auth.get("scope"):
                    project = session.get(Project, parent.project_id) if parent.project_id else None
                    domain = session.get(Domain, parent.domain_id) if parent.domain_id else None
                    system = parent.system
            self._check_enabled(session, user, project, domain)

            if trust_roles is not None:
                roles = trust_roles
            else:
                roles = [r for r in effective_roles(session, user.id, project=project,
                                                    domain_id=domain.id if domain else None, system=system)
                         if r.domain_id == ROOT_DOMAIN_ID]
            if app_cred is not None:
                delegated = set(app_cred.role_ids)
                roles = [r for r in roles if r.id in delegated]
            all_methods = methods if parent is None else list(dict.fromkeys(["token", *parent.methods]))
            return self._issue(session, user=user, methods=all_methods, roles=roles, project=project,
                               domain=domain, system=system, parent=parent, app_cred=app_cred, trust=trust,
                               with_catalog=with_catalog)

    @staticmethod
    def _check_enabled(session: Session, user: User | None, project: Project | None, domain: Domain | None) -> None:
        """:raises Unauthorized: a missing or disabled user, user domain, project or domain."""
        user_domain = session.get(Domain, user.domain_id) if user is not None else None
        if user is None or not user.enabled or user_domain is None or not user_domain.enabled:
            raise Unauthorized(AUTH_FAILED)
        if project is not None:
            project_domain = session.get(Domain, project.domain_id)
            if not project.enabled or project_domain is None or not project_domain.enabled:
                raise Unauthorized(f"Project {project.id} is disabled.")
        if domain is not None and not domain.enabled:
            raise Unauthorized(f"Domain {domain.id} is disabled.")

    def _issue(self, session: Session, *, user: User, methods: list[str], roles: list[Role],
               project: Project | None = None, domain: Domain | None = None, system: bool = False,
               parent: AuthContext | None = None, app_cred: ApplicationCredential | None = None,
               trust: Trust | None = None, access_token_id: str | None = None,
               with_catalog: bool = True) -> tuple[str, TokenFacts]:
        """Issue the token once the caller is proven and the scope and roles are known.

        :raises Unauthorized: a scoped token with no role on its scope.
        """
        scoped = project is not None or domain is not None or system
        if scoped and not roles:
            what = (f"project {project.id}" if project else f"domain {domain.id}" if domain else "the system")
            raise Unauthorized(f"User {user.id} has no access to {what}.")
        expires_at = parent.expires_at if parent is not None else None
        for limit in (app_cred.expires_at if app_cred is not None else None,
                      trust.expires_at if trust is not None else None):
            if limit is not None:
                stamp = limit.replace(tzinfo=dt.timezone.utc).timestamp()
                expires_at = stamp if expires_at is None else min(expires_at, stamp)
        token, ctx = self.core.tokens.issue(
            user_id=user.id, user_domain_id=user.domain_id, methods=methods,
            roles=[r.name for r in roles], project_id=project.id if project else None,
            project_domain_id=project.domain_id if project else None,
            domain_id=domain.id if domain else None, system=system,
            parent_audit_ids=parent.audit_ids if parent else (), expires_at=expires_at,
            app_cred_id=app_cred.id if app_cred else None, trust_id=trust.id if trust else None,
            access_token_id=access_token_id)
        return token, TokenFacts(
            ctx=ctx, user=user, user_domain=session.get(Domain, user.domain_id), roles=roles, project=project,
            project_domain=session.get(Domain, project.domain_id) if project else None, domain=domain,
            app_cred=app_cred,
            catalog=for_project(self.core.catalog.get(), project.id if project else None)
            if with_catalog and scoped else None,
            trust=trust, access_token=core_oauth1.find_access_token(session, access_token_id))

    def issue_for_project(self, session: Session, *, user: User, project: Project, roles: list[Role],
                          method: str, app_cred: ApplicationCredential | None = None, trust: Trust | None = None,
                          access_token_id: str | None = None) -> tuple[str, TokenFacts]:
        """A project-scoped token for a caller proven by other means (an EC2 or S3 signature).

        :raises Unauthorized: a disabled user, project or domain; no role on the project.
        """
        self._check_enabled(session, user, project, None)
        return self._issue(session, user=user, methods=[method], roles=roles, project=project, app_cred=app_cred,
                           trust=trust, access_token_id=access_token_id)

    def describe(self, token: str, *, with_catalog: bool = True, allow_expired: bool = False) -> TokenFacts:
        """The facts of a subject token. :raises NotFound: invalid, expired or revoked token."""
        try:
            ctx = self.core.tokens.decode(token)
            if ctx.expires_at <= time.time() and not allow_expired:
                raise TokenError("expired")
            if self.core.tokens.revocations.is_revoked(ctx):
                raise TokenError("revoked")
        except TokenError:
            raise NotFound("Failed to validate token") from None
        with self.core.store.session() as session:
            return self._facts(session, ctx, with_catalog)

    def _facts(self, session: Session, ctx: AuthContext, with_catalog: bool) -> TokenFacts:
        user = session.get(User, ctx.user_id)
        if user is None:
            raise NotFound("Failed to validate token")
        project = session.get(Project, ctx.project_id) if ctx.project_id else None
        if ctx.project_id and project is None:
            raise NotFound("Failed to validate token")
        roles = list(session.scalars(select(Role).where(Role.name.in_(ctx.roles),
                                                        Role.domain_id == ROOT_DOMAIN_ID).order_by(Role.name)))
        scoped = ctx.scope_type is not None
        return TokenFacts(
            ctx=ctx, user=user, user_domain=session.get(Domain, user.domain_id), roles=roles,
            project=project, project_domain=session.get(Domain, project.domain_id) if project else None,
            domain=session.get(Domain, ctx.domain_id) if ctx.domain_id else None,
            app_cred=session.get(ApplicationCredential, ctx.app_cred_id) if ctx.app_cred_id else None,
            catalog=for_project(self.core.catalog.get(), ctx.project_id) if with_catalog and scoped else None,
            trust=self._trust_of(session, ctx),
            access_token=core_oauth1.find_access_token(session, ctx.access_token_id),
        )

    @staticmethod
    def _trust_of(session: Session, ctx: AuthContext) -> Trust | None:
        if not ctx.trust_id:
            return None
        trust = session.get(Trust, ctx.trust_id)
        if trust is None:  # deleted: its tokens are revoked, so only an allow_expired read lands here
            raise NotFound("Failed to validate token")
        return trust

    def revoke(self, token: str) -> None:
        """Revoke one token (and every token rescoped from it). :raises NotFound: invalid token."""
        facts = self.describe(token, with_catalog=False)
        self.core.revocations.revoke(audit_id=facts.ctx.audit_ids[0])
