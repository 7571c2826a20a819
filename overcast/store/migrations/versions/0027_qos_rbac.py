"""network: QoS policies and rules, qos_policy_id on networks and ports, RBAC policies

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:45:00
"""
import datetime
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'net_qos_policy',
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
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_net_qos_policy_cloud', 'net_qos_policy', ['cloud'])
    op.create_index('ix_net_qos_policy_project_id', 'net_qos_policy', ['project_id'])
    op.create_index('ix_net_qos_policy_name', 'net_qos_policy', ['name'])
    op.create_table(
        'net_qos_rule',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('qos_policy_id', sa.String(length=36), sa.ForeignKey('net_qos_policy.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('max_kbps', sa.Integer(), nullable=True),
        sa.Column('max_burst_kbps', sa.Integer(), nullable=True),
        sa.Column('min_kbps', sa.Integer(), nullable=True),
        sa.Column('dscp_mark', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('qos_policy_id', 'type', 'direction'),
    )
    op.create_index('ix_net_qos_rule_qos_policy_id', 'net_qos_rule', ['qos_policy_id'])
    for table in ('net_network', 'net_port'):
        op.add_column(table, sa.Column('qos_policy_id', sa.String(length=36), nullable=True))
        op.create_index(f'ix_{table}_qos_policy_id', table, ['qos_policy_id'])
    op.create_table(
        'net_rbac_policy',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('cloud', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_id', sa.String(length=36), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target_project', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('object_type', 'object_id', 'action', 'target_project'),
    )
    for column in ('cloud', 'project_id', 'object_id', 'target_project'):
        op.create_index(f'ix_net_rbac_policy_{column}', 'net_rbac_policy', [column])
    # what shared and router:external meant so far: a '*' entry each, as Neutron keeps them
    networks = sa.table('net_network', sa.column('id'), sa.column('cloud'), sa.column('project_id'),
                        sa.column('shared', sa.Boolean()), sa.column('external', sa.Boolean()))
    entries = sa.table('net_rbac_policy', *(sa.column(c) for c in (
        'id', 'cloud', 'project_id', 'object_type', 'object_id', 'action', 'target_project')),
                       sa.column('created_at', sa.DateTime()))
    conn = op.get_bind()
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    rows = []
    for network in conn.execute(sa.select(networks).where(sa.or_(networks.c.shared.is_(True),
                                                                 networks.c.external.is_(True)))):
        for flag, action in ((network.shared, 'access_as_shared'), (network.external, 'access_as_external')):
            if flag:
                rows.append({'id': str(uuid.uuid4()), 'cloud': network.cloud, 'project_id': network.project_id,
                             'object_type': 'network', 'object_id': network.id, 'action': action,
                             'target_project': '*', 'created_at': now})
    if rows:
        op.bulk_insert(entries, rows)


def downgrade() -> None:
    for column in ('cloud', 'project_id', 'object_id', 'target_project'):
        op.drop_index(f'ix_net_rbac_policy_{column}', table_name='net_rbac_policy')
    op.drop_table('net_rbac_policy')
    for table in ('net_network', 'net_port'):
        op.drop_index(f'ix_{table}_qos_policy_id', table_name=table)
        # ALTER TABLE ... DROP COLUMN (SQLite has it since 3.35): a batch rebuild would cascade
        op.execute(f'ALTER TABLE {table} DROP COLUMN qos_policy_id')
    op.drop_index('ix_net_qos_rule_qos_policy_id', table_name='net_qos_rule')
    op.drop_table('net_qos_rule')
    op.drop_index('ix_net_qos_policy_name', table_name='net_qos_policy')
    op.drop_index('ix_net_qos_policy_project_id', table_name='net_qos_policy')
    op.drop_index('ix_net_qos_policy_cloud', table_name='net_qos_policy')
    op.drop_table('net_qos_policy')
