"""block storage: volume backups (Cinder's backups API)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 21:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_backup',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('cloud', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('volume_id', sa.String(length=36), nullable=False),
        sa.Column('snapshot_id', sa.String(length=36), nullable=True),
        sa.Column('parent_id', sa.String(length=36), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('container', sa.String(length=255), nullable=True),
        sa.Column('availability_zone', sa.String(length=255), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('object_count', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('fail_reason', sa.Text(), nullable=True),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('volume_info', sa.JSON(), nullable=False),
        sa.Column('restore_volume_id', sa.String(length=36), nullable=True),
        sa.Column('backend_id', sa.String(length=255), nullable=True),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('data_timestamp', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_volume_backup_project_created', 'volume_backup', ['project_id', 'created_at'])
    op.create_index('ix_volume_backup_volume_id', 'volume_backup', ['volume_id'])
    op.create_index('ix_volume_backup_parent_id', 'volume_backup', ['parent_id'])
    op.create_index('ix_volume_backup_restore_volume_id', 'volume_backup', ['restore_volume_id'])


def downgrade() -> None:
    op.drop_index('ix_volume_backup_restore_volume_id', table_name='volume_backup')
    op.drop_index('ix_volume_backup_parent_id', table_name='volume_backup')
    op.drop_index('ix_volume_backup_volume_id', table_name='volume_backup')
    op.drop_index('ix_volume_backup_project_created', table_name='volume_backup')
    op.drop_table('volume_backup')
