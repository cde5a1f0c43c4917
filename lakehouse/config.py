"""Where the tables live. Local directory by default; object storage by configuration only.

- the home: ``--home``, else ``PESQUISA_HOME``, else ``./data`` (the variable says where the
  settings file is; :mod:`lakehouse.settings` reads it); tables go under ``HOME/tables``;
- settings ``storage.tables_uri`` (``PESQUISA_TABLES_URI``) overrides the table root, e.g.
  ``s3://bucket/pesquisa``, and ``storage.storage_options`` (``PESQUISA_STORAGE_OPTIONS``, a JSON
  object) goes to delta-rs (:mod:`lakehouse.settings`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = "./data"


def env_home(environ: Mapping[str, str] | None = None) -> str | None:
    """``PESQUISA_HOME`` when set (the home locator; read by :func:`lakehouse.settings.env_home`,
    where every environment variable is read)."""
    from lakehouse.settings import env_home as read_env_home

    return read_env_home(environ)


def resolve_home(
    home: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The ``--home`` directory: the argument, else ``$PESQUISA_HOME``, else ``./data``."""
    value = home if home is not None else (env_home(environ) or DEFAULT_HOME)
    return Path(value).expanduser().resolve()


@dataclass(frozen=True)
class StorageConfig:
    """Root URI of the tables plus delta-rs storage options."""

    root: str
    storage_options: dict[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return "://" not in self.root or self.root.startswith("file://")

    def table_uri(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    @classmethod
    def from_home(cls, home: str | os.PathLike[str] | None = None) -> StorageConfig:
        from lakehouse.settings import get_settings

        storage = get_settings(home).storage
        root = storage.tables_uri or str(resolve_home(home) / "tables")
        options = {str(k): v.get_secret_value() for k, v in storage.storage_options.items()}
        return cls(root=root, storage_options=options)
