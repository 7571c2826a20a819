"""First start for every service: identity's accounts and catalog, compute's flavors and services,
the image service's cirros and metadata definitions. Idempotent; ``overcast serve`` runs it at every start."""

from __future__ import annotations

from overcast.config import Settings
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
    """Bootstrap identity, then seed compute, images, networks and volume types; returns the
    accounts with passwords."""
    accounts = bootstrap_identity(identity)
    seed_compute(compute)
    seed_image(images)
    seed_metadefs(images)
    seed_network(compute.network)
    seed_volume(build_volume(compute))
    return accounts


def bootstrap(settings: Settings) -> list[Account]:
    """Everything a first start needs, for these settings (cores built and released here)."""
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    try:
        return prepare(identity, compute, ImageCore(settings=settings, store=identity.store))
    finally:
        compute.close()
        identity.store.dispose()
