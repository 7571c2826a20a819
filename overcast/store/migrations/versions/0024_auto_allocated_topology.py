"""network: auto-allocated topologies (one per project and region) and networks' is_default

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 21:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('net_network', sa.Column('is_default', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'net_auto_allocated_topology',
        sa.Column('project_id', sa.String(length=64), primary_key=True),
        sa.Column('cloud', sa.String(length=255), primary_key=True),
        sa.Column('network_id', sa.String(length=36), sa.ForeignKey('net_network.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('router_id', sa.String(length=36), nullable=True),
    )
    op.create_index('ix_net_auto_allocated_topology_network_id', 'net_auto_allocated_topology', ['network_id'])


def downgrade() -> None:
    op.drop_index('ix_net_auto_allocated_topology_network_id', table_name='net_auto_allocated_topology')
    op.drop_table('net_auto_allocated_topology')
    # ALTER TABLE ... DROP COLUMN (SQLite has it since 3.35): a batch rebuild of net_network
    # would cascade to every table referring to it
    op.execute('ALTER TABLE net_network DROP COLUMN is_default')
