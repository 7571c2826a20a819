"""network: networks, subnets, ports, routers, floating IPs, security groups

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 02:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('net_network',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('network_type', sa.String(length=32), nullable=True),
    sa.Column('physical_network', sa.String(length=64), nullable=True),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_network_name'), 'net_network', ['name'], unique=False)
    op.create_index(op.f('ix_net_network_project_id'), 'net_network', ['project_id'], unique=False)
    op.create_table('net_quota',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('hard_limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource')
    )
    op.create_table('net_router',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gw_port_id', sa.String(length=36), nullable=True),
    sa.Column('external_network_id', sa.String(length=36), nullable=True),
    sa.Column('enable_snat', sa.Boolean(), nullable=False),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_router_name'), 'net_router', ['name'], unique=False)
    op.create_index(op.f('ix_net_router_project_id'), 'net_router', ['project_id'], unique=False)
    op.create_table('net_security_group',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('stateful', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_security_group_name'), 'net_security_group', ['name'], unique=False)
    op.create_index(op.f('ix_net_security_group_project_id'), 'net_security_group', ['project_id'], unique=False)
    op.create_table('net_default_security_group',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['security_group_id'], ['net_security_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id'),
    sa.UniqueConstraint('security_group_id')
    )
    op.create_table('net_floating_ip',
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['floating_network_id'], ['net_network.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_floating_ip_floating_network_id'), 'net_floating_ip', ['floating_network_id'], unique=False)
    op.create_index(op.f('ix_net_floating_ip_port_id'), 'net_floating_ip', ['port_id'], unique=False)
    op.create_index(op.f('ix_net_floating_ip_project_id'), 'net_floating_ip', ['project_id'], unique=False)
    op.create_table('net_port',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('security_group_ids', sa.JSON(), nullable=False),
    sa.Column('allowed_address_pairs', sa.JSON(), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=False),
    sa.Column('binding_vif_type', sa.String(length=64), nullable=False),
    sa.Column('binding_vnic_type', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['net_network.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('network_id', 'mac_address')
    )
    op.create_index(op.f('ix_net_port_device_id'), 'net_port', ['device_id'], unique=False)
    op.create_index(op.f('ix_net_port_network_id'), 'net_port', ['network_id'], unique=False)
    op.create_index(op.f('ix_net_port_project_id'), 'net_port', ['project_id'], unique=False)
    op.create_table('net_security_group_rule',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('ethertype', sa.String(length=8), nullable=False),
    sa.Column('protocol', sa.String(length=40), nullable=True),
    sa.Column('port_range_min', sa.Integer(), nullable=True),
    sa.Column('port_range_max', sa.Integer(), nullable=True),
    sa.Column('remote_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('remote_group_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['security_group_id'], ['net_security_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_security_group_rule_project_id'), 'net_security_group_rule', ['project_id'], unique=False)
    op.create_index(op.f('ix_net_security_group_rule_security_group_id'), 'net_security_group_rule', ['security_group_id'], unique=False)
    op.create_table('net_subnet',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.Column('gateway_ip', sa.String(length=64), nullable=True),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('allocation_pools', sa.JSON(), nullable=False),
    sa.Column('dns_nameservers', sa.JSON(), nullable=False),
    sa.Column('host_routes', sa.JSON(), nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(length=16), nullable=True),
    sa.Column('ipv6_address_mode', sa.String(length=16), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['net_network.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_net_subnet_name'), 'net_subnet', ['name'], unique=False)
    op.create_index(op.f('ix_net_subnet_network_id'), 'net_subnet', ['network_id'], unique=False)
    op.create_index(op.f('ix_net_subnet_project_id'), 'net_subnet', ['project_id'], unique=False)
    op.create_table('net_ip_allocation',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['net_port.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['net_subnet.id'], ),
    sa.PrimaryKeyConstraint('subnet_id', 'ip_address')
    )
    op.create_index(op.f('ix_net_ip_allocation_network_id'), 'net_ip_allocation', ['network_id'], unique=False)
    op.create_index(op.f('ix_net_ip_allocation_port_id'), 'net_ip_allocation', ['port_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_net_ip_allocation_port_id'), table_name='net_ip_allocation')
    op.drop_index(op.f('ix_net_ip_allocation_network_id'), table_name='net_ip_allocation')
    op.drop_table('net_ip_allocation')
    op.drop_index(op.f('ix_net_subnet_project_id'), table_name='net_subnet')
    op.drop_index(op.f('ix_net_subnet_network_id'), table_name='net_subnet')
    op.drop_index(op.f('ix_net_subnet_name'), table_name='net_subnet')
    op.drop_table('net_subnet')
    op.drop_index(op.f('ix_net_security_group_rule_security_group_id'), table_name='net_security_group_rule')
    op.drop_index(op.f('ix_net_security_group_rule_project_id'), table_name='net_security_group_rule')
    op.drop_table('net_security_group_rule')
    op.drop_index(op.f('ix_net_port_project_id'), table_name='net_port')
    op.drop_index(op.f('ix_net_port_network_id'), table_name='net_port')
    op.drop_index(op.f('ix_net_port_device_id'), table_name='net_port')
    op.drop_table('net_port')
    op.drop_index(op.f('ix_net_floating_ip_project_id'), table_name='net_floating_ip')
    op.drop_index(op.f('ix_net_floating_ip_port_id'), table_name='net_floating_ip')
    op.drop_index(op.f('ix_net_floating_ip_floating_network_id'), table_name='net_floating_ip')
    op.drop_table('net_floating_ip')
    op.drop_table('net_default_security_group')
    op.drop_index(op.f('ix_net_security_group_project_id'), table_name='net_security_group')
    op.drop_index(op.f('ix_net_security_group_name'), table_name='net_security_group')
    op.drop_table('net_security_group')
    op.drop_index(op.f('ix_net_router_project_id'), table_name='net_router')
    op.drop_index(op.f('ix_net_router_name'), table_name='net_router')
    op.drop_table('net_router')
    op.drop_table('net_quota')
    op.drop_index(op.f('ix_net_network_project_id'), table_name='net_network')
    op.drop_index(op.f('ix_net_network_name'), table_name='net_network')
    op.drop_table('net_network')
