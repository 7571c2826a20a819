"""block storage: snapshot progress, type encryption, generic volume groups, quota classes,
transfers, user messages and the volume services' admin state; the seeded default type no longer
pins the local backend

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


#: what the seeded lvmdriver-1 type used to carry (types serve every region; the scheduler now matches it)
SEEDED_SPECS = {'volume_backend_name': 'lvmdriver-1'}
VOLUME_TYPE = sa.table('volume_type', sa.column('id', sa.String), sa.column('name', sa.String),
                       sa.column('extra_specs', sa.JSON))


def _reseed_default_type(old: dict, new: dict) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(VOLUME_TYPE.c.id, VOLUME_TYPE.c.extra_specs)
                        .where(VOLUME_TYPE.c.name == 'lvmdriver-1')).all()
    for type_id, specs in rows:
        if specs == old:
            conn.execute(VOLUME_TYPE.update().where(VOLUME_TYPE.c.id == type_id).values(extra_specs=new))


def upgrade() -> None:
    _reseed_default_type(SEEDED_SPECS, {})
    with op.batch_alter_table('volume_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', sa.String(length=16), server_default='0%', nullable=False))
        batch_op.add_column(sa.Column('group_snapshot_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_volume_snapshot_group_snapshot_id'), ['group_snapshot_id'], unique=False)
    op.execute("UPDATE volume_snapshot SET progress = '100%' WHERE status = 'available'")
    with op.batch_alter_table('volume', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_volume_group_id'), ['group_id'], unique=False)
    op.create_table('volume_group_type',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('group_specs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('volume_group',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('cloud', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('group_type_id', sa.String(length=36), nullable=False),
    sa.Column('volume_type_ids', sa.JSON(), nullable=False),
    sa.Column('group_snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('source_group_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volume_group_group_type_id'), 'volume_group', ['group_type_id'], unique=False)
    op.create_index('ix_volume_group_project_created', 'volume_group', ['project_id', 'created_at'], unique=False)
    op.create_table('volume_group_snapshot',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('group_type_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volume_group_snapshot_group_id'), 'volume_group_snapshot', ['group_id'], unique=False)
    op.create_index('ix_volume_group_snapshot_project_created', 'volume_group_snapshot',
                    ['project_id', 'created_at'], unique=False)
    op.create_table('volume_type_encryption',
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('encryption_id', sa.String(length=36), nullable=False),
    sa.Column('provider', sa.String(length=255), nullable=False),
    sa.Column('cipher', sa.String(length=255), nullable=True),
    sa.Column('key_size', sa.Integer(), nullable=True),
    sa.Column('control_location', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_type.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_type_id'),
    sa.UniqueConstraint('encryption_id')
    )
    op.create_table('volume_quota_class',
    sa.Column('class_name', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=300), nullable=False),
    sa.Column('hard_limit', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('class_name', 'resource')
    )
    op.create_table('volume_transfer',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('source_project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('crypt_hash', sa.String(length=255), nullable=False),
    sa.Column('no_snapshots', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volume.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('volume_id')
    )
    op.create_index(op.f('ix_volume_transfer_source_project_id'), 'volume_transfer', ['source_project_id'],
                    unique=False)
    op.create_table('volume_message',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=255), nullable=True),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('resource_uuid', sa.String(length=36), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('message_level', sa.String(length=16), nullable=False),
    sa.Column('user_message', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volume_message_expires_at'), 'volume_message', ['expires_at'], unique=False)
    op.create_index('ix_volume_message_project_created', 'volume_message', ['project_id', 'created_at'],
                    unique=False)
    op.create_index(op.f('ix_volume_message_resource_uuid'), 'volume_message', ['resource_uuid'], unique=False)
    op.create_table('volume_service',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('binary', sa.String(length=64), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=255), nullable=True),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('modified_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('host', 'binary')
    )


def downgrade() -> None:
    op.drop_table('volume_service')
    op.drop_index(op.f('ix_volume_message_resource_uuid'), table_name='volume_message')
    op.drop_index('ix_volume_message_project_created', table_name='volume_message')
    op.drop_index(op.f('ix_volume_message_expires_at'), table_name='volume_message')
    op.drop_table('volume_message')
    op.drop_index(op.f('ix_volume_transfer_source_project_id'), table_name='volume_transfer')
    op.drop_table('volume_transfer')
    op.drop_table('volume_quota_class')
    op.drop_table('volume_type_encryption')
    op.drop_index('ix_volume_group_snapshot_project_created', table_name='volume_group_snapshot')
    op.drop_index(op.f('ix_volume_group_snapshot_group_id'), table_name='volume_group_snapshot')
    op.drop_table('volume_group_snapshot')
    op.drop_index('ix_volume_group_project_created', table_name='volume_group')
    op.drop_index(op.f('ix_volume_group_group_type_id'), table_name='volume_group')
    op.drop_table('volume_group')
    op.drop_table('volume_group_type')
    with op.batch_alter_table('volume', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_group_id'))
        batch_op.drop_column('group_id')
    with op.batch_alter_table('volume_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_snapshot_group_snapshot_id'))
        batch_op.drop_column('group_snapshot_id')
        batch_op.drop_column('progress')
    _reseed_default_type({}, SEEDED_SPECS)
