"""testing: faults injected on demand (region, family, action; fail, delay, unavailable, http)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'injected_fault',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('region', sa.String(length=255), nullable=False),
        sa.Column('family', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('endpoint', sa.String(length=255), nullable=True),
        sa.Column('remaining', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=64), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=True),
        sa.Column('until', sa.Float(), nullable=True),
        sa.Column('probability', sa.Float(), nullable=True),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('injected', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('injected_fault')
