"""compute: a server's disk config (Nova's auto_disk_config, OS-DCF:diskConfig AUTO or MANUAL)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every server made before this was shown MANUAL: false keeps what clients saw
    op.add_column('server', sa.Column('auto_disk_config', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite has it since 3.35): a batch rebuild of server would
    # cascade to the tables referring to it
    op.execute('ALTER TABLE server DROP COLUMN auto_disk_config')
