"""image metadefs: Glance's metadata definitions catalog; legacy import tasks start without an image

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

#: the resource types every Glance database starts with (protected: they cannot be removed)
RESOURCE_TYPES = ('OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor', 'OS::Nova::Aggregate',
                  'OS::Nova::Server')


def upgrade() -> None:
    op.create_table('metadef_namespace',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('visibility', sa.String(length=32), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace')
    )
    with op.batch_alter_table('metadef_namespace', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadef_namespace_created_at'), ['created_at'], unique=False)

    resource_type = op.create_table('metadef_resource_type',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    op.bulk_insert(resource_type, [{'name': name, 'protected': True, 'created_at': now, 'updated_at': now}
                                   for name in RESOURCE_TYPES])
    op.create_table('metadef_namespace_resource_type',
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('resource_type_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=80), nullable=True),
    sa.Column('properties_target', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespace.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_type_id'], ['metadef_resource_type.id'], ),
    sa.PrimaryKeyConstraint('namespace_id', 'resource_type_id')
    )
    op.create_table('metadef_object',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('required', sa.JSON(), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace_id', 'name')
    )
    op.create_table('metadef_property',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace_id', 'name')
    )
    op.create_table('metadef_tag',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace_id', 'name')
    )
    # a legacy ``import`` task (POST /v2/tasks) has no image until it has made one
    with op.batch_alter_table('image_task', schema=None) as batch_op:
        batch_op.alter_column('image_id', existing_type=sa.VARCHAR(length=36), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM image_task WHERE image_id IS NULL")
    with op.batch_alter_table('image_task', schema=None) as batch_op:
        batch_op.alter_column('image_id', existing_type=sa.VARCHAR(length=36), nullable=False)
    op.drop_table('metadef_tag')
    op.drop_table('metadef_property')
    op.drop_table('metadef_object')
    op.drop_table('metadef_namespace_resource_type')
    op.drop_table('metadef_resource_type')
    with op.batch_alter_table('metadef_namespace', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadef_namespace_created_at'))
    op.drop_table('metadef_namespace')
