"""Where the shared real data lives (../shared/data next to the repository), if present.

``PESQUISA_SHARED_DATA`` overrides the location. Code that uses it must cope with ``None``:
the data is never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    env = os.environ.get("PESQUISA_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def shared_path(*parts: str) -> Path | None:
    root = shared_data_dir()
    if root is None:
        return None
    p = root.joinpath(*parts)
    return p if p.exists() else None
