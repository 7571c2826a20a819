"""Glance's image sharing: the owner adds projects as members of a ``shared`` image; each member
accepts or rejects it (``member_status``), which decides whether it shows in their default list.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.image import get
from overcast.core.image.writes import TooMany, is_owner, require_member
from overcast.store.image import Image, ImageMember
from overcast.store.models import utcnow

MEMBER_STATUSES = ("pending", "accepted", "rejected")
#: Glance's image_member_quota default
MEMBER_QUOTA = 128


def _shared(image: Image) -> None:
    if image.visibility != "shared":
        raise Forbidden(f"Error fetching members of image {image.id}: Only shared images have members.")


def list_members(session: Session, ctx: AuthContext, image_id: str, *, region: str) -> list[ImageMember]:
    """The owner sees every member; a member only its own membership.

    :raises NotFound: image not visible. :raises Forbidden: not a shared image.
    """
    image = get(session, ctx, image_id, region=region)
    _shared(image)
    query = select(ImageMember).where(ImageMember.image_id == image.id).order_by(ImageMember.created_at,
                                                                                 ImageMember.member)
    if not is_owner(ctx, image):
        query = query.where(ImageMember.member == (ctx.project_id or ""))
    return list(session.scalars(query))


def get_member(session: Session, ctx: AuthContext, image_id: str, member_id: str, *, region: str) -> ImageMember:
    """:raises NotFound: no such image or member, or one the caller may not see (never 403)."""
    image = get(session, ctx, image_id, region=region)
    member = session.get(ImageMember, (image.id, member_id))
    if (member is None or image.visibility != "shared"
            or not (is_owner(ctx, image) or member_id == ctx.project_id)):
        raise NotFound(f"{member_id} not found in the member list of the image {image_id}.")
    return member


def add_member(session: Session, ctx: AuthContext, image_id: str, member_id: str, *, region: str) -> ImageMember:
    """Share with ``member_id`` (pending). Owner only.

    :raises NotFound: :raises Forbidden: not the owner, not shared. :raises Conflict: already a member.
    :raises TooMany: the member quota.
    """
    image = get(session, ctx, image_id, region=region)
    require_member(ctx, "add_member")
    _shared(image)
    if not is_owner(ctx, image):
        raise Forbidden(f"Not allowed to create members for image {image_id}.")
    if session.get(ImageMember, (image.id, member_id)) is not None:
        raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
    count = len(session.scalars(select(ImageMember.member).where(ImageMember.image_id == image.id)).all())
    if count >= MEMBER_QUOTA:
        raise TooMany(f"Image member limit exceeded for image {image_id}: Maximum number of image members "
                      f"({MEMBER_QUOTA}) exceeded.")
    now = utcnow()
    member = ImageMember(image_id=image.id, member=member_id, status="pending", created_at=now, updated_at=now)
    session.add(member)
    session.flush()
    return member


def update_member(session: Session, ctx: AuthContext, image_id: str, member_id: str, status: object, *,
                  region: str) -> ImageMember:
    """The member itself accepts, rejects or resets to pending.

    :raises NotFound: :raises Forbidden: not that member. :raises Invalid: unknown status.
    """
    member = get_member(session, ctx, image_id, member_id, region=region)
    if member_id != ctx.project_id:
        raise Forbidden(f"Not allowed to update members for image {image_id}.")
    if status not in MEMBER_STATUSES:
        raise Invalid(f"Incorrect request: Status must be one of {', '.join(MEMBER_STATUSES)}")
    member.status = str(status)
    member.updated_at = utcnow()
    session.flush()
    return member


def remove_member(session: Session, ctx: AuthContext, image_id: str, member_id: str, *, region: str) -> None:
    """Owner only. :raises NotFound: :raises Forbidden:"""
    member = get_member(session, ctx, image_id, member_id, region=region)
    image = get(session, ctx, image_id, region=region)
    if not is_owner(ctx, image):
        raise Forbidden(f"Not allowed to delete members for image {image_id}.")
    require_member(ctx, "delete_member")
    session.delete(member)
