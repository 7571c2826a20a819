"""network: the agents of each region's network backend, the DHCP agent of each network; trunks and subports; routers' distributed

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 08:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'net_agent',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('cloud', sa.String(length=255), nullable=False),
        sa.Column('agent_type', sa.String(length=255), nullable=False),
        sa.Column('binary', sa.String(length=255), nullable=False),
        sa.Column('topic', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('availability_zone', sa.String(length=255), nullable=True),
        sa.Column('admin_state_up', sa.Boolean(), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('configurations', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('cloud', 'agent_type', 'host', name='uq_net_agent_type_host'),
    )
    op.create_index('ix_net_agent_cloud', 'net_agent', ['cloud'])
    op.create_table(
        'net_dhcp_agent_network',
        sa.Column('agent_id', sa.String(length=36), sa.ForeignKey('net_agent.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('network_id', sa.String(length=36), sa.ForeignKey('net_network.id', ondelete='CASCADE'),
                  primary_key=True),
    )
    op.create_index('ix_net_dhcp_agent_network_network_id', 'net_dhcp_agent_network', ['network_id'])
    op.create_table(
        'net_trunk',
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
        sa.Column('admin_state_up', sa.Boolean(), nullable=False),
        sa.Column('port_id', sa.String(length=36), sa.ForeignKey('net_port.id'), nullable=False, unique=True),
    )
    op.create_index('ix_net_trunk_cloud', 'net_trunk', ['cloud'])
    op.create_index('ix_net_trunk_project_id', 'net_trunk', ['project_id'])
    op.create_table(
        'net_trunk_subport',
        sa.Column('port_id', sa.String(length=36), sa.ForeignKey('net_port.id'), primary_key=True),
        sa.Column('trunk_id', sa.String(length=36), sa.ForeignKey('net_trunk.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('segmentation_type', sa.String(length=32), nullable=False),
        sa.Column('segmentation_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.UniqueConstraint('trunk_id', 'segmentation_type', 'segmentation_id',
                            name='uq_net_trunk_subport_segmentation'),
    )
    op.create_index('ix_net_trunk_subport_trunk_id', 'net_trunk_subport', ['trunk_id'])
    with op.batch_alter_table('net_router') as batch:
        batch.add_column(sa.Column('distributed', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('net_router') as batch:
        batch.drop_column('distributed')
    op.drop_index('ix_net_trunk_subport_trunk_id', table_name='net_trunk_subport')
    op.drop_table('net_trunk_subport')
    op.drop_index('ix_net_trunk_project_id', table_name='net_trunk')
    op.drop_index('ix_net_trunk_cloud', table_name='net_trunk')
    op.drop_table('net_trunk')
    op.drop_index('ix_net_dhcp_agent_network_network_id', table_name='net_dhcp_agent_network')
    op.drop_table('net_dhcp_agent_network')
    op.drop_index('ix_net_agent_cloud', table_name='net_agent')
    op.drop_table('net_agent')
