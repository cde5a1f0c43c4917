"""Watchlists and real-time alarms (DESIGN.md §6, §8).

- :mod:`pipelines.watchlist.entries`    the ``watchlist`` table: active entries, visibility (covert);
- :mod:`pipelines.watchlist.manage`     add / change / remove / import entries (case + audit);
- :mod:`pipelines.watchlist.hygiene`    warnings for colliding or over-broad plate entries;
- :mod:`pipelines.watchlist.historical` a new entry run over past reads and sightings;
- :mod:`pipelines.watchlist.matching`   plate (search matcher) and face (L2) matching;
- :mod:`pipelines.watchlist.alarms`     :func:`raise_alerts` after each micro-batch commit;
- :mod:`pipelines.watchlist.feed`       alerts per agency, per-agency acknowledgement;
- :mod:`pipelines.watchlist.webhooks`   HTTP POST of each alert to agencies' webhooks (background).
"""

from pipelines.watchlist.alarms import raise_alerts
from pipelines.watchlist.entries import Entry, WatchlistError, active_entries, list_entries
from pipelines.watchlist.feed import acknowledge, list_alerts

__all__ = [
    "Entry",
    "WatchlistError",
    "acknowledge",
    "active_entries",
    "list_alerts",
    "list_entries",
    "raise_alerts",
]
