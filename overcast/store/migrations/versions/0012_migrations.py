"""migrations: Nova's record of every resize of a server (os-migrations)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('migration',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('migration_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('dest_host', sa.String(length=255), nullable=True),
    sa.Column('old_flavor_id', sa.String(length=255), nullable=False),
    sa.Column('new_flavor_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['server_id'], ['server.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('migration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_migration_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_migration_server_id'), ['server_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_migration_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('migration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_migration_status'))
        batch_op.drop_index(batch_op.f('ix_migration_server_id'))
        batch_op.drop_index(batch_op.f('ix_migration_created_at'))
    op.drop_table('migration')
