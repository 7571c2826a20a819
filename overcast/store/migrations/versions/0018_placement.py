"""placement: resource providers per region, inventories, traits, aggregates, custom resource
classes and traits, consumers and their allocations

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('placement_consumer',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('cloud', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('consumer_type', sa.String(length=255), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    op.create_index(op.f('ix_placement_consumer_cloud'), 'placement_consumer', ['cloud'], unique=False)
    op.create_index(op.f('ix_placement_consumer_project_id'), 'placement_consumer', ['project_id'], unique=False)
    op.create_table('placement_provider',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('cloud', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('parent_uuid', sa.String(length=36), nullable=True),
    sa.Column('root_uuid', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cloud', 'name'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index(op.f('ix_placement_provider_cloud'), 'placement_provider', ['cloud'], unique=False)
    op.create_index(op.f('ix_placement_provider_parent_uuid'), 'placement_provider', ['parent_uuid'], unique=False)
    op.create_index(op.f('ix_placement_provider_root_uuid'), 'placement_provider', ['root_uuid'], unique=False)
    op.create_table('placement_resource_class',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('placement_trait',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('placement_allocation',
    sa.Column('consumer_uuid', sa.String(length=36), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('resource_class', sa.String(length=255), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consumer_uuid'], ['placement_consumer.uuid'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['placement_provider.id'], ),
    sa.PrimaryKeyConstraint('consumer_uuid', 'provider_id', 'resource_class')
    )
    op.create_index(op.f('ix_placement_allocation_provider_id'), 'placement_allocation', ['provider_id'], unique=False)
    op.create_table('placement_inventory',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('resource_class', sa.String(length=255), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('min_unit', sa.Integer(), nullable=False),
    sa.Column('max_unit', sa.Integer(), nullable=False),
    sa.Column('step_size', sa.Integer(), nullable=False),
    sa.Column('allocation_ratio', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['placement_provider.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('provider_id', 'resource_class')
    )
    op.create_table('placement_provider_aggregate',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('aggregate', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['placement_provider.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('provider_id', 'aggregate')
    )
    op.create_index(op.f('ix_placement_provider_aggregate_aggregate'), 'placement_provider_aggregate', ['aggregate'], unique=False)
    op.create_table('placement_provider_trait',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('trait', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['placement_provider.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('provider_id', 'trait')
    )
    op.create_index(op.f('ix_placement_provider_trait_trait'), 'placement_provider_trait', ['trait'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_placement_provider_trait_trait'), table_name='placement_provider_trait')
    op.drop_table('placement_provider_trait')
    op.drop_index(op.f('ix_placement_provider_aggregate_aggregate'), table_name='placement_provider_aggregate')
    op.drop_table('placement_provider_aggregate')
    op.drop_table('placement_inventory')
    op.drop_index(op.f('ix_placement_allocation_provider_id'), table_name='placement_allocation')
    op.drop_table('placement_allocation')
    op.drop_table('placement_trait')
    op.drop_table('placement_resource_class')
    op.drop_index(op.f('ix_placement_provider_root_uuid'), table_name='placement_provider')
    op.drop_index(op.f('ix_placement_provider_parent_uuid'), table_name='placement_provider')
    op.drop_index(op.f('ix_placement_provider_cloud'), table_name='placement_provider')
    op.drop_table('placement_provider')
    op.drop_index(op.f('ix_placement_consumer_project_id'), table_name='placement_consumer')
    op.drop_index(op.f('ix_placement_consumer_cloud'), table_name='placement_consumer')
    op.drop_table('placement_consumer')
