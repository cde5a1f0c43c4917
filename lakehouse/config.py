"""Where the tables live. Local directory by default; object storage by configuration only.

Settings (environment, or arguments):

- ``PESQUISA_HOME``            the working directory (default ``./data``); tables go under ``HOME/tables``
- ``PESQUISA_TABLES_URI``      overrides the table root, e.g. ``s3://bucket/pesquisa``
- ``PESQUISA_STORAGE_OPTIONS`` JSON object handed to delta-rs (``{"AWS_REGION": ..., ...}``)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = "./data"


def resolve_home(home: str | os.PathLike[str] | None = None, environ=None) -> Path:
    """The ``--home`` directory: the argument, else ``$PESQUISA_HOME``, else ``./data``."""
    env = os.environ if environ is None else environ
    value = home if home is not None else env.get("PESQUISA_HOME", DEFAULT_HOME)
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
        root = os.environ.get("PESQUISA_TABLES_URI") or str(resolve_home(home) / "tables")
        raw = os.environ.get("PESQUISA_STORAGE_OPTIONS", "").strip()
        try:
            options = json.loads(raw) if raw else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"PESQUISA_STORAGE_OPTIONS is not valid JSON: {exc}") from exc
        if not isinstance(options, dict):
            raise ValueError("PESQUISA_STORAGE_OPTIONS must be a JSON object")
        return cls(root=root, storage_options={str(k): str(v) for k, v in options.items()})
