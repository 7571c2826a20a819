"""the image a shelved server was saved to (Nova's shelved_image_id)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('server', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shelved_image_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('server', schema=None) as batch_op:
        batch_op.drop_column('shelved_image_id')
