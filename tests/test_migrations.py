"""The migration chain: numbered files, one head, and a schema that matches the models."""

from __future__ import annotations

import re

from overcast.store.db import MIGRATIONS, Store, newest_revision


def test_chain_is_numbered_and_linear():
    files = sorted(p for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    previous = None
    for path in files:
        text = path.read_text()
        revision = re.search(r"^revision = ['\"](\w+)['\"]", text, re.M).group(1)
        down = re.search(r"^down_revision = (?:['\"](\w+)['\"]|None)", text, re.M).group(1)
        assert revision == path.name.split("_", 1)[0]
        assert down == previous
        previous = revision
    assert newest_revision() == previous


def test_upgrade_reaches_the_models_and_is_then_a_no_op(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import overcast.ops.models  # noqa: F401
    import overcast.store.compute  # noqa: F401
    import overcast.store.image  # noqa: F401
    import overcast.store.metadefs  # noqa: F401
    import overcast.store.network  # noqa: F401
    import overcast.store.testing  # noqa: F401
    import overcast.store.volume  # noqa: F401
    from overcast.store.models import Base

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == newest_revision()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.upgrade()
    store.dispose()
