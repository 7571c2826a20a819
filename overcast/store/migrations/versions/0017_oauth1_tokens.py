"""identity: OAuth1 request and access tokens; consumer secrets kept encrypted; revocation by access token

An OAuth1 consumer signs its requests with its secret (HMAC-SHA1), so the secret must be readable:
it is now kept encrypted with the credential keys. The bcrypt hash kept until now cannot be turned
back into a secret, so a consumer made before this revision has no usable secret (its requests are
refused; an administrator makes a new consumer). Tokens issued with an access token are revoked
when it is deleted: revocation events gain an ``access_token_id``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('revocation_event', sa.Column('access_token_id', sa.String(64), nullable=True))
    op.add_column('oauth1_consumer', sa.Column('encrypted_secret', sa.Text(), nullable=True))
    op.execute('ALTER TABLE oauth1_consumer DROP COLUMN secret_hash')
    op.create_table(
        'oauth1_request_token',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('consumer_id', sa.String(64), sa.ForeignKey('oauth1_consumer.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('requested_project_id', sa.String(64), sa.ForeignKey('project.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('encrypted_secret', sa.Text(), nullable=False),
        sa.Column('authorizing_user_id', sa.String(64), sa.ForeignKey('user.id', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('role_ids', sa.JSON(), nullable=True),
        sa.Column('verifier', sa.String(64), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_oauth1_request_token_consumer_id', 'oauth1_request_token', ['consumer_id'])
    op.create_table(
        'oauth1_access_token',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('consumer_id', sa.String(64), sa.ForeignKey('oauth1_consumer.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('authorizing_user_id', sa.String(64), sa.ForeignKey('user.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('project_id', sa.String(64), sa.ForeignKey('project.id', ondelete='CASCADE'), nullable=False),
        sa.Column('role_ids', sa.JSON(), nullable=False),
        sa.Column('encrypted_secret', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_oauth1_access_token_consumer_id', 'oauth1_access_token', ['consumer_id'])
    op.create_index('ix_oauth1_access_token_authorizing_user_id', 'oauth1_access_token', ['authorizing_user_id'])


def downgrade() -> None:
    op.drop_table('oauth1_access_token')
    op.drop_table('oauth1_request_token')
    op.add_column('oauth1_consumer', sa.Column('secret_hash', sa.String(255), nullable=False, server_default=''))
    op.execute('ALTER TABLE oauth1_consumer DROP COLUMN encrypted_secret')
    op.execute('ALTER TABLE revocation_event DROP COLUMN access_token_id')
