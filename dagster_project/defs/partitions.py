"""Partitions shared by the domains: one partition per UTC day (DESIGN.md §12: partition by day,
never by video file; at most ~100k partitions per asset).

The first day comes from ``PESQUISA_PARTITIONS_START`` (default 2025-01-01). ``end_offset=1`` makes
today's partition exist, so files arriving today can be processed today.
"""

from __future__ import annotations

import os

import dagster as dg

PARTITIONS_START = os.environ.get("PESQUISA_PARTITIONS_START", "2025-01-01")

daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)
