"""block device mappings: the volumes of a server (os-volume_attachments, boot from volume)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('block_device_mapping',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=True),
    sa.Column('attachment_id', sa.String(length=36), nullable=True),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=36), nullable=True),
    sa.Column('volume_size', sa.Integer(), nullable=True),
    sa.Column('volume_type', sa.String(length=255), nullable=True),
    sa.Column('device_name', sa.String(length=255), nullable=False),
    sa.Column('boot_index', sa.Integer(), nullable=True),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['server_id'], ['server.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('server_id', 'device_name'),
    sa.UniqueConstraint('server_id', 'volume_id')
    )
    with op.batch_alter_table('block_device_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_block_device_mapping_server_id'), ['server_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_block_device_mapping_volume_id'), ['volume_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('block_device_mapping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_block_device_mapping_volume_id'))
        batch_op.drop_index(batch_op.f('ix_block_device_mapping_server_id'))
    op.drop_table('block_device_mapping')
