"""regions and backend references: key pairs and volume services per region, images held by one
region's backend and their backend ids per region, backend extras, the regions' inventory

Key pairs are kept per region, as each region's Nova keeps its own (a user may have ``mykey`` in
two regions); volume services belong to a region (two regions of one driver name their hosts
alike). Rows made before carry region "" and are claimed by the first configured region when
Overcast starts (migrations do not know the configuration). ``image.cloud`` marks an image only
one region's backend holds; ``image_location`` records each region's backend id of an image.
``cloud_inventory`` holds what each region's drivers last said they offer (zones, pools,
flavors), refreshed by a reconciler task so no request waits for a provider.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

#: names the unnamed unique constraint of 0003's key_pair when SQLite's table is rebuilt
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _unique_name(bind: sa.engine.Connection) -> str:
    found = [u for u in sa.inspect(bind).get_unique_constraints('key_pair')
             if sorted(u['column_names']) == ['name', 'user_id']]
    return found[0]['name'] if found and found[0]['name'] else 'uq_key_pair_user_id_name'


def _rebuild_volume_service(*, with_cloud: bool) -> None:
    """A new primary key: the table is made again and its rows copied (the same on both databases)."""
    key = ['cloud', 'host', 'binary'] if with_cloud else ['host', 'binary']
    columns = [sa.Column('host', sa.String(length=255), nullable=False),
               sa.Column('binary', sa.String(length=64), nullable=False),
               sa.Column('disabled', sa.Boolean(), nullable=False),
               sa.Column('disabled_reason', sa.String(length=255), nullable=True),
               sa.Column('frozen', sa.Boolean(), nullable=False),
               sa.Column('modified_at', sa.DateTime(), nullable=False)]
    if with_cloud:
        columns.insert(0, sa.Column('cloud', sa.String(length=255), server_default='', nullable=False))
    name = 'pk_volume_service_' + ('region' if with_cloud else 'host')
    op.create_table('volume_service_new', *columns, sa.PrimaryKeyConstraint(*key, name=name))
    copied = 'host, "binary", disabled, disabled_reason, frozen, modified_at'
    op.execute(f'INSERT INTO volume_service_new ({copied}) SELECT {copied} FROM volume_service')
    op.drop_table('volume_service')
    op.rename_table('volume_service_new', 'volume_service')


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    old_unique = _unique_name(bind)
    with op.batch_alter_table('key_pair', naming_convention=_SQLITE_NAMES if sqlite else None) as batch_op:
        batch_op.add_column(sa.Column('cloud', sa.String(length=255), server_default='', nullable=False))
        batch_op.drop_constraint(old_unique, type_='unique')
        batch_op.create_unique_constraint('uq_key_pair_user_id_cloud_name', ['user_id', 'cloud', 'name'])

    _rebuild_volume_service(with_cloud=True)

    for table in ('server', 'volume', 'volume_snapshot'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('backend_extra', sa.JSON(), nullable=True))

    with op.batch_alter_table('image') as batch_op:
        batch_op.add_column(sa.Column('cloud', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_image_cloud'), ['cloud'], unique=False)
    op.create_table('image_location',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('cloud', sa.String(length=255), nullable=False),
    sa.Column('backend_id', sa.String(length=255), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'cloud')
    )
    op.create_table('cloud_inventory',
    sa.Column('cloud', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('cloud', 'kind')
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table('cloud_inventory')
    op.drop_table('image_location')
    with op.batch_alter_table('image') as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_cloud'))
        batch_op.drop_column('cloud')
    for table in ('server', 'volume', 'volume_snapshot'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('backend_extra')
    # one row per (host, binary) again: the first region's settings win
    volume_service = sa.table('volume_service', sa.column('cloud', sa.String), sa.column('host', sa.String),
                              sa.column('binary', sa.String))
    seen: set[tuple[str, str]] = set()
    for row in bind.execute(sa.select(volume_service.c.cloud, volume_service.c.host, volume_service.c.binary)
                            .order_by(volume_service.c.cloud)).all():
        if (row.host, row.binary) in seen:
            op.execute(volume_service.delete().where(volume_service.c.cloud == row.cloud,
                                                     volume_service.c.host == row.host,
                                                     volume_service.c.binary == row.binary))
        seen.add((row.host, row.binary))
    _rebuild_volume_service(with_cloud=False)
    key_pair = sa.table('key_pair', sa.column('id', sa.Integer), sa.column('user_id', sa.String),
                        sa.column('cloud', sa.String), sa.column('name', sa.String))
    seen = set()
    for row in bind.execute(sa.select(key_pair.c.id, key_pair.c.user_id, key_pair.c.name)
                            .order_by(key_pair.c.id)).all():
        if (row.user_id, row.name) in seen:  # the same name in two regions: the oldest stays
            op.execute(key_pair.delete().where(key_pair.c.id == row.id))
        seen.add((row.user_id, row.name))
    with op.batch_alter_table('key_pair') as batch_op:
        batch_op.drop_constraint('uq_key_pair_user_id_cloud_name', type_='unique')
        batch_op.drop_column('cloud')
        batch_op.create_unique_constraint('uq_key_pair_user_id_name', ['user_id', 'name'])
