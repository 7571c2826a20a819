"""First start for every service: identity's accounts and catalog, compute's flavors and services,
the image service's cirros and metadata definitions. Idempotent; ``overcast serve`` runs it at every start.

A start on a data directory bootstrapped before, with the same settings, skips the work: the full
bootstrap leaves ``bootstrap.json`` with a fingerprint of everything it depends on, and a start that
finds the same fingerprint (and a database at the newest revision) only reads the accounts back
(docs/decisions/0034-serving.md).
"""

from __future__ import annotations

import hashlib
import json

from overcast import __version__
from overcast.config import Settings
from overcast.core.cdn import build_cdn
from overcast.core.cdn.flavors import seed as seed_cdn_flavors
from overcast.core.compute import ComputeCore, build_compute
from overcast.core.compute.seed import seed as seed_compute
from overcast.core.identity import IdentityCore, build_identity
from overcast.core.identity.bootstrap import Account
from overcast.core.identity.bootstrap import bootstrap as bootstrap_identity
from overcast.core.image import ImageCore
from overcast.core.image.seed import seed as seed_image
from overcast.core.image.seed import seed_metadefs
from overcast.core.network.seed import seed as seed_network
from overcast.core.volume import build_volume
from overcast.core.volume.seed import seed as seed_volume


def prepare(identity: IdentityCore, compute: ComputeCore, images: ImageCore) -> list[Account]:
    """Bootstrap identity, then seed compute, images, networks, volume types and CDN flavors;
    returns the accounts with passwords."""
    accounts = bootstrap_identity(identity)
    seed_compute(compute)
    seed_image(images)
    seed_metadefs(images)
    seed_network(compute.network)
    seed_volume(build_volume(compute))
    cdn = build_cdn(compute.settings, compute.store)
    try:
        with cdn.store.session() as session:
            seed_cdn_flavors(cdn, session)
    finally:
        cdn.close()
    return accounts


STAMP = "bootstrap.json"


def fingerprint(settings: Settings) -> str | None:
    """What a bootstrap depends on, or None when a start must always run it (a password set in the
    configuration is checked against its hash at every start; a remote cloud is asked for its zones)."""
    from urllib.parse import urlsplit

    from overcast.store.db import newest_revision

    if any(s is not None for s in (settings.bootstrap.admin_password, settings.bootstrap.demo_password,
                                   settings.bootstrap.alt_demo_password)):
        return None
    if any(cloud.driver != "local" for cloud in settings.clouds):
        return None
    url = urlsplit(settings.database_url)
    facts = {
        "overcast": __version__, "schema": newest_revision(), "public_url": settings.public_url,
        "region": settings.bootstrap.region,
        "clouds": [[c.name, c.driver, sorted((k, repr(v)) for k, v in c.options.items())] for c in settings.clouds],
        # the database's address without its password
        "database": [url.scheme, url.hostname, url.port, url.path],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _already(settings: Settings, stamp: str | None) -> list[Account] | None:
    """The accounts of a data directory bootstrapped with these very settings, else None."""
    data_dir = settings.data_dir
    path = data_dir / STAMP
    if stamp is None or not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        return None
    needed = (data_dir / "clouds.yaml", data_dir / "bootstrap-passwords.json", settings.key_repository,
              settings.credential_key_repository)
    if recorded.get("fingerprint") != stamp or not all(p.exists() for p in needed):
        return None
    from overcast.store.db import Store, newest_revision

    store = Store(settings.database_url)
    try:
        if store.revision() != newest_revision():
            return None
    finally:
        store.dispose()
    passwords = json.loads((data_dir / "bootstrap-passwords.json").read_text())
    from overcast.core.identity.bootstrap import ACCOUNTS

    if set(passwords) != {user for user, *_ in ACCOUNTS}:
        return None
    return [Account(user, project, passwords[user]) for user, project, *_ in ACCOUNTS]


def bootstrap(settings: Settings, *, force: bool = False) -> list[Account]:
    """Everything a first start needs, for these settings (cores built and released here).

    Unless ``force``, a data directory bootstrapped before with the same settings is only read."""
    stamp = fingerprint(settings)
    if not force:
        accounts = _already(settings, stamp)
        if accounts is not None:
            return accounts
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    try:
        fresh = identity.store.revision() is None
        accounts = prepare(identity, compute, ImageCore(settings=settings, store=identity.store))
        if fresh:  # what `overcast reset` goes back to
            from overcast.core import state

            state.save(settings, identity.store, state.BOOTSTRAP, internal=True)
    finally:
        compute.close()
        identity.store.dispose()
    path = settings.data_dir / STAMP
    if stamp is not None:
        path.write_text(json.dumps({"fingerprint": stamp}))
    else:
        path.unlink(missing_ok=True)
    return accounts
