"""network: subnet pools, address scopes, and the pool a subnet was cut from

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _standard() -> list[sa.Column]:
    return [
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('cloud', sa.String(length=255), nullable=False),
        sa.Column('backend_id', sa.String(length=255), nullable=True),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('revision_number', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('ip_version', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('net_address_scope', *_standard())
    op.create_table(
        'net_subnet_pool', *_standard(),
        sa.Column('prefixes', sa.JSON(), nullable=False),
        sa.Column('default_prefixlen', sa.Integer(), nullable=False),
        sa.Column('min_prefixlen', sa.Integer(), nullable=False),
        sa.Column('max_prefixlen', sa.Integer(), nullable=False),
        sa.Column('default_quota', sa.Integer(), nullable=True),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('address_scope_id', sa.String(length=36), nullable=True),
    )
    for table in ('net_address_scope', 'net_subnet_pool'):
        for column in ('cloud', 'project_id', 'name'):
            op.create_index(f'ix_{table}_{column}', table, [column])
    op.create_index('ix_net_subnet_pool_address_scope_id', 'net_subnet_pool', ['address_scope_id'])
    op.add_column('net_subnet', sa.Column('subnetpool_id', sa.String(length=36), nullable=True))
    op.create_index('ix_net_subnet_subnetpool_id', 'net_subnet', ['subnetpool_id'])


def downgrade() -> None:
    op.drop_index('ix_net_subnet_subnetpool_id', table_name='net_subnet')
    # ALTER TABLE ... DROP COLUMN (SQLite has it since 3.35): a batch rebuild of net_subnet would
    # cascade to the tables referring to it
    op.execute('ALTER TABLE net_subnet DROP COLUMN subnetpool_id')
    op.drop_table('net_subnet_pool')
    op.drop_table('net_address_scope')
