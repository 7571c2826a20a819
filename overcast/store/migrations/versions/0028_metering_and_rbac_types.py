"""network: metering labels and their rules; RBAC entries for shared subnet pools and address scopes

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 04:20:00
"""
import datetime
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'net_metering_label',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('cloud', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=1024), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_net_metering_label_cloud', 'net_metering_label', ['cloud'])
    op.create_index('ix_net_metering_label_project_id', 'net_metering_label', ['project_id'])
    op.create_table(
        'net_metering_label_rule',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('metering_label_id', sa.String(length=36),
                  sa.ForeignKey('net_metering_label.id', ondelete='CASCADE'), nullable=False),
        sa.Column('direction', sa.String(length=8), nullable=False),
        sa.Column('remote_ip_prefix', sa.String(length=64), nullable=False),
        sa.Column('excluded', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_net_metering_label_rule_metering_label_id', 'net_metering_label_rule',
                    ['metering_label_id'])
    # what `shared` meant so far on subnet pools and address scopes: a '*' entry each, as for networks
    entries = sa.table('net_rbac_policy', *(sa.column(c) for c in (
        'id', 'cloud', 'project_id', 'object_type', 'object_id', 'action', 'target_project')),
                       sa.column('created_at', sa.DateTime()))
    conn = op.get_bind()
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    rows = []
    for table, object_type in (('net_subnet_pool', 'subnetpool'), ('net_address_scope', 'address_scope')):
        records = sa.table(table, sa.column('id'), sa.column('cloud'), sa.column('project_id'),
                           sa.column('shared', sa.Boolean()))
        for record in conn.execute(sa.select(records).where(records.c.shared.is_(True))):
            rows.append({'id': str(uuid.uuid4()), 'cloud': record.cloud, 'project_id': record.project_id,
                         'object_type': object_type, 'object_id': record.id, 'action': 'access_as_shared',
                         'target_project': '*', 'created_at': now})
    if rows:
        op.bulk_insert(entries, rows)


def downgrade() -> None:
    # the entries of the object types 0027 did not know
    entries = sa.table('net_rbac_policy', sa.column('object_type'))
    op.execute(entries.delete().where(entries.c.object_type.in_(('subnetpool', 'address_scope', 'security_group'))))
    op.drop_index('ix_net_metering_label_rule_metering_label_id', table_name='net_metering_label_rule')
    op.drop_table('net_metering_label_rule')
    op.drop_index('ix_net_metering_label_project_id', table_name='net_metering_label')
    op.drop_index('ix_net_metering_label_cloud', table_name='net_metering_label')
    op.drop_table('net_metering_label')
