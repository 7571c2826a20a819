"""block storage: Cinder's visible admin metadata replaces the readonly flag column

A volume's ``readonly`` flag becomes the ``readonly`` key of its admin metadata, which also holds
``attached_mode`` while it is attached (both are shown among the volume's metadata, as Cinder
shows them). The old column is dropped with ALTER TABLE ... DROP COLUMN, which SQLite has had
since 3.35: rebuilding the table (Alembic's batch mode) would, with foreign keys on, cascade the
drop of the old table to the volume's attachments.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

volume = sa.table('volume', sa.column('id', sa.String), sa.column('readonly', sa.Boolean),
                  sa.column('admin_metadata', sa.JSON))


def upgrade() -> None:
    op.add_column('volume', sa.Column('admin_metadata', sa.JSON(), nullable=True))
    op.execute(volume.update().where(volume.c.readonly.is_(True)).values(admin_metadata={"readonly": "True"}))
    op.execute('ALTER TABLE volume DROP COLUMN readonly')


def downgrade() -> None:
    op.add_column('volume', sa.Column('readonly', sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    flagged = [row.id for row in bind.execute(sa.select(volume.c.id, volume.c.admin_metadata))
               if (row.admin_metadata or {}).get("readonly") == "True"]
    if flagged:
        op.execute(volume.update().where(volume.c.id.in_(flagged)).values(readonly=True))
    op.execute('ALTER TABLE volume DROP COLUMN admin_metadata')
