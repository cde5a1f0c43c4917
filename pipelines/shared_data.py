"""Where the shared real data lives (../shared/data next to the repository), if present.

Setting ``paths.shared_data`` (``PESQUISA_SHARED_DATA``) overrides the location. Code that uses it must cope with ``None``:
the data is never copied into the repository."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    from lakehouse.settings import get_settings

    configured = get_settings().paths.shared_data
    candidates = [Path(configured)] if configured else []
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
