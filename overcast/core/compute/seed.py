"""First start: Nova's default flavors, what each region's backend offers (its zones, hence a
compute service = hypervisor per backend host), and the region claiming rows made before regions
were kept (key pairs and volume services with region "")."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.compute import ComputeCore
from overcast.core.compute import flavors as flavor_rules
from overcast.store.compute import KeyPair
from overcast.store.volume import VolumeService


def claim_unplaced(session: Session, region: str) -> None:
    """Rows made before records carried their region belong to the first region (migration 0019)."""
    for model in (KeyPair, VolumeService):
        session.execute(update(model).where(model.cloud == "").values(cloud=region))


def seed(core: ComputeCore) -> None:
    """Idempotent: safe at every start."""
    with core.store.session() as session:
        flavor_rules.ensure_defaults(session)
        claim_unplaced(session, core.settings.regions[0])
    for region in core.settings.regions:
        if region in core.clouds:
            inventory.refresh(core.store.session, region, core.clouds[region])
