"""server: the image's properties at boot or rebuild (Nova 2.98) and the scheduler hints of the create (2.100)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('server') as batch:
        batch.add_column(sa.Column('image_properties', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('scheduler_hints', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('server') as batch:
        batch.drop_column('scheduler_hints')
        batch.drop_column('image_properties')
