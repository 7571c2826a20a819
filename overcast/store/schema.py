"""Every table Overcast keeps, in one place: the modules that define models on
:data:`overcast.store.models.Base`, imported on demand. Alembic's environment, the migration tests
and anything else that needs the whole schema call :func:`load_models` instead of importing a list
of modules by hand (a list that silently went stale: Alembic once saw 52 of 78 tables)."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData

#: model modules outside ``overcast.store`` (every module inside it is found by itself)
OTHER_MODEL_MODULES = ("overcast.ops.models",)
#: modules of ``overcast.store`` that define no tables
_NOT_MODELS = frozenset({"changes", "db", "schema", "snapshot"})


def model_modules() -> list[str]:
    """The dotted names of every module that defines tables."""
    import overcast.store

    found = [f"overcast.store.{info.name}" for info in pkgutil.iter_modules(overcast.store.__path__)
             if not info.ispkg and info.name not in _NOT_MODELS]
    return sorted(found) + list(OTHER_MODEL_MODULES)


def load_models() -> MetaData:
    """Import every model module; returns the metadata holding all of Overcast's tables."""
    for name in model_modules():
        importlib.import_module(name)
    from overcast.store.models import Base

    return Base.metadata
