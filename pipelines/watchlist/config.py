"""The watchlist settings of the home a Lakehouse belongs to (``watchlist:`` in ``pesquisa.yaml``)."""

from __future__ import annotations

from pathlib import Path

from lakehouse import Lakehouse
from lakehouse.settings import WatchlistSettings, get_settings


def home_of(lh: Lakehouse) -> Path | None:
    """The home directory of a local Lakehouse (``HOME/tables``), else None (the default home)."""
    if lh.storage.is_local:
        root = Path(lh.storage.root.removeprefix("file://"))
        if root.name == "tables":
            return root.parent
    return None


def watchlist_settings(lh: Lakehouse) -> WatchlistSettings:
    return get_settings(home_of(lh)).settings.watchlist
