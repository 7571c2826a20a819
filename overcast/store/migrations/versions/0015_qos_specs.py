"""block storage: QoS specs and their association with volume types

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volume_qos_specs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('consumer', sa.String(length=16), nullable=False),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('volume_type_qos',
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('qos_specs_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['qos_specs_id'], ['volume_qos_specs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_type.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_type_id')
    )
    op.create_index(op.f('ix_volume_type_qos_qos_specs_id'), 'volume_type_qos', ['qos_specs_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_volume_type_qos_qos_specs_id'), table_name='volume_type_qos')
    op.drop_table('volume_type_qos')
    op.drop_table('volume_qos_specs')
