"""network: records belong to a region and carry the backend's id and extras

Every network record (networks, subnets, ports, routers, floating IPs, security groups and their
rules) gets ``cloud`` (its region), ``backend_id`` and (rules aside) ``extra``. A project's
default security group and its quota limits are kept per region (both primary keys gain
``cloud``). Existing rows belong to the first configured region (the ``default_region``
attribute :meth:`overcast.store.db.Store.upgrade` passes; ``RegionOne`` without one), and have
no backend id yet: the network reconciler re-applies them, which finds what the backend already
holds (creates are idempotent on the Overcast id).

SQLite cannot make an added column NOT NULL without rebuilding the table, and rebuilding
``net_network``, ``net_port`` or ``net_security_group`` would, with foreign keys on, cascade the
drop of the old table to their children; there the column is added NOT NULL with the region as
its default (inserts always give one). PostgreSQL adds it, fills it and then sets NOT NULL.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: tables with the standard attributes: cloud, backend_id, extra
STANDARD = ('net_network', 'net_subnet', 'net_port', 'net_router', 'net_floating_ip', 'net_security_group')
RULES = 'net_security_group_rule'


def _region() -> str:
    config = op.get_context().config
    region = config.attributes.get("default_region") if config is not None else None
    return region or "RegionOne"


def _add_not_null(table: str, column: sa.Column, value: object) -> None:
    """Add ``column`` NOT NULL, with ``value`` in every existing row."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        literal = sa.text(f"'{value}'") if isinstance(value, str) else sa.text(str(value))
        column.server_default = sa.DefaultClause(literal)
        column.nullable = False
        op.add_column(table, column)
        return
    column.nullable = True
    op.add_column(table, column)
    op.execute(sa.table(table, sa.column(column.name, column.type)).update().values({column.name: value}))
    op.alter_column(table, column.name, nullable=False)


def upgrade() -> None:
    region = _region()
    for table in (*STANDARD, RULES):
        _add_not_null(table, sa.Column('cloud', sa.String(length=255)), region)
        op.add_column(table, sa.Column('backend_id', sa.String(length=255), nullable=True))
        op.create_index(op.f(f'ix_{table}_cloud'), table, ['cloud'], unique=False)
    for table in STANDARD:
        _add_not_null(table, sa.Column('extra', sa.JSON()), '{}')
    _region_in_primary_key('net_default_security_group', ('project_id',), region)
    _region_in_primary_key('net_quota', ('project_id', 'resource'), region)


def _keyed_table(table: str, with_cloud: bool) -> list:
    """The columns and constraints of the two tables whose primary key gains ``cloud``, as they are
    with (or without) it."""
    cloud = [sa.Column('cloud', sa.String(length=255), nullable=False, primary_key=True)] if with_cloud else []
    if table == 'net_default_security_group':
        return [sa.Column('project_id', sa.String(length=64), nullable=False, primary_key=True), *cloud,
                sa.Column('security_group_id', sa.String(length=36), nullable=False),
                sa.ForeignKeyConstraint(['security_group_id'], ['net_security_group.id'], ondelete='CASCADE'),
                sa.UniqueConstraint('security_group_id')]
    return [sa.Column('project_id', sa.String(length=64), nullable=False, primary_key=True), *cloud,
            sa.Column('resource', sa.String(length=64), nullable=False, primary_key=True),
            sa.Column('hard_limit', sa.Integer(), nullable=False)]


def _rebuild(table: str, with_cloud: bool, region: str | None) -> None:
    """SQLite: make ``table`` again with (or without) ``cloud`` in its primary key and copy its rows
    (neither table is the parent of another, so dropping the old one cascades nothing)."""
    definition = _keyed_table(table, with_cloud)
    columns = [c.name for c in definition if isinstance(c, sa.Column) and c.name != 'cloud']
    old = f'_old_{table}'
    op.execute(f'ALTER TABLE {table} RENAME TO {old}')
    op.create_table(table, *definition)
    names = ', '.join(columns)
    if with_cloud:
        op.execute(sa.text(f'INSERT INTO {table} ({names}, cloud) SELECT {names}, :region FROM {old}')
                   .bindparams(region=region))
    else:
        op.execute(f'INSERT INTO {table} ({names}) SELECT {names} FROM {old}')
    op.execute(f'DROP TABLE {old}')


def _region_in_primary_key(table: str, key: tuple[str, ...], region: str) -> None:
    """Add ``cloud`` to the table and to its primary key (``key`` + cloud)."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(table, True, region)
        return
    op.add_column(table, sa.Column('cloud', sa.String(length=255), nullable=True))
    op.execute(sa.table(table, sa.column('cloud', sa.String)).update().values(cloud=region))
    op.alter_column(table, 'cloud', nullable=False)
    op.drop_constraint(f'{table}_pkey', table, type_='primary')
    op.create_primary_key(f'{table}_pkey', table, [*key[:1], 'cloud', *key[1:]])


def _region_out_of_primary_key(table: str, key: tuple[str, ...]) -> None:
    """Drop ``cloud`` again (the caller kept one row per old key)."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(table, False, None)
        return
    op.drop_constraint(f'{table}_pkey', table, type_='primary')
    op.create_primary_key(f'{table}_pkey', table, list(key))
    op.drop_column(table, 'cloud')


def downgrade() -> None:
    for table, key in (('net_quota', ('project_id', 'resource')), ('net_default_security_group', ('project_id',))):
        rows = sa.table(table, *(sa.column(c, sa.String) for c in (*key, 'cloud')))
        # one region's row survives per key: the default region's, else the first by name
        bind = op.get_bind()
        seen: set[tuple[str, ...]] = set()
        first = sa.case((rows.c.cloud == _region(), 0), else_=1)
        for row in bind.execute(sa.select(rows).order_by(first, rows.c.cloud)).all():
            ident = tuple(getattr(row, c) for c in key)
            if ident in seen:
                bind.execute(rows.delete().where(rows.c.cloud == row.cloud,
                                                 *(getattr(rows.c, c) == v for c, v in zip(key, ident))))
            seen.add(ident)
        _region_out_of_primary_key(table, key)
    for table in STANDARD:
        _drop_column(table, 'extra')
    for table in (*STANDARD, RULES):
        op.drop_index(op.f(f'ix_{table}_cloud'), table_name=table)
        _drop_column(table, 'backend_id')
        _drop_column(table, 'cloud')


def _drop_column(table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN, which SQLite has had since 3.35 (a rebuild would cascade)."""
    op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
