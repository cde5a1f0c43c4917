"""Partitions shared by the domains: one partition per UTC day (DESIGN.md §12: partition by day,
never by video file; at most ~100k partitions per asset).

The first day comes from the setting ``orchestration.partitions_start`` (``PESQUISA_PARTITIONS_START``,
default 2025-01-01), read when the code location loads. ``end_offset=1`` makes
today's partition exist, so files arriving today can be processed today.
"""

from __future__ import annotations

import dagster as dg

from lakehouse.settings import get_settings

PARTITIONS_START = get_settings().orchestration.partitions_start

daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)
