"""The one typed door to Pesquisa's Delta tables, and the lowest layer of the project.

``lakehouse`` imports nothing else from the project. Modules:

- :mod:`lakehouse.specs` — every table schema (the only place one is written);
- :mod:`lakehouse.config` — where the tables live (the home, object storage);
- :mod:`lakehouse.store` — :class:`Lakehouse`: reads, and the only writer (append, replace, upsert);
- :mod:`lakehouse.conform` — conforming incoming rows to a schema;
- :mod:`lakehouse.ids` — deterministic ids and content hashes;
- :mod:`lakehouse.maintenance` — compaction, checkpoints, vacuum, retention;
- :mod:`lakehouse.settings` — the typed settings of a home (file + environment overrides);
- :mod:`lakehouse.timeutil` — the one time parser and the meaning of ``--from`` / ``--to``.

The names below are loaded on first use, so ``from lakehouse.timeutil import ...`` does not pull
in delta-rs and pyarrow (the CLI starts fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse.config import StorageConfig
    from lakehouse.specs import TABLES, TableSpec, spec
    from lakehouse.store import Lakehouse

__all__ = ["TABLES", "Lakehouse", "StorageConfig", "TableSpec", "spec"]

_HOMES = {
    "TABLES": "lakehouse.specs",
    "TableSpec": "lakehouse.specs",
    "spec": "lakehouse.specs",
    "StorageConfig": "lakehouse.config",
    "Lakehouse": "lakehouse.store",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
