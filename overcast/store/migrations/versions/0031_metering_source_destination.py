"""network: metering label rules' source_ip_prefix and destination_ip_prefix; remote_ip_prefix may be null

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 12:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('net_metering_label_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_ip_prefix', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('destination_ip_prefix', sa.String(length=64), nullable=True))
        batch_op.alter_column('remote_ip_prefix', existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # a rule made with only source/destination prefixes has no remote prefix to keep: it goes
    op.execute("DELETE FROM net_metering_label_rule WHERE remote_ip_prefix IS NULL")
    with op.batch_alter_table('net_metering_label_rule', schema=None) as batch_op:
        batch_op.alter_column('remote_ip_prefix', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('destination_ip_prefix')
        batch_op.drop_column('source_ip_prefix')
