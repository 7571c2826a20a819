"""cdn: Poppy's services, their provider details and domain claims, flavors, certificates, limits

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cdn_flavor',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('providers', sa.JSON(), nullable=False),
        sa.Column('managed', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'cdn_service',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('name', sa.String(256), nullable=False),
        sa.Column('flavor_id', sa.String(64), sa.ForeignKey('cdn_flavor.id'), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(32), nullable=False),
        sa.Column('operator_status', sa.String(16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('project_id', 'name', name='uq_cdn_service_project_name'),
    )
    op.create_index('ix_cdn_service_project_id', 'cdn_service', ['project_id', 'id'])
    op.create_index('ix_cdn_service_status', 'cdn_service', ['status'])
    op.create_index('ix_cdn_service_flavor_id', 'cdn_service', ['flavor_id'])
    op.create_table(
        'cdn_provider_detail',
        sa.Column('service_id', sa.String(36), sa.ForeignKey('cdn_service.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('provider', sa.String(64), primary_key=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('provider_service_id', sa.String(255), nullable=True),
        sa.Column('status', sa.String(32), nullable=False),
        sa.Column('access_urls', sa.JSON(), nullable=False),
        sa.Column('certificates', sa.JSON(), nullable=False),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_class', sa.String(64), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'cdn_domain',
        sa.Column('domain', sa.String(253), primary_key=True),
        sa.Column('service_id', sa.String(36), sa.ForeignKey('cdn_service.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('project_id', sa.String(64), nullable=False),
    )
    op.create_index('ix_cdn_domain_service_id', 'cdn_domain', ['service_id'])
    op.create_table(
        'cdn_project',
        sa.Column('project_id', sa.String(64), primary_key=True),
        sa.Column('service_limit', sa.Integer(), nullable=True),
        sa.Column('services', sa.Integer(), nullable=False),
    )
    op.create_table(
        'cdn_certificate',
        sa.Column('domain_name', sa.String(253), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('flavor_id', sa.String(64), sa.ForeignKey('cdn_flavor.id'), nullable=False),
        sa.Column('cert_type', sa.String(16), nullable=False),
        sa.Column('status', sa.String(32), nullable=False),
        sa.Column('cert_details', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_cdn_certificate_project_id', 'cdn_certificate', ['project_id'])
    op.create_index('ix_cdn_certificate_status', 'cdn_certificate', ['status'])


def downgrade() -> None:
    op.drop_table('cdn_certificate')
    op.drop_table('cdn_project')
    op.drop_table('cdn_domain')
    op.drop_table('cdn_provider_detail')
    op.drop_table('cdn_service')
    op.drop_table('cdn_flavor')
