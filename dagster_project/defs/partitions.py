"""Partitions shared by the domains (DESIGN.md §12: partition by day, never by video file; at most
~100k partitions per asset).

- ``daily``: one partition per UTC day. The first day comes from the setting
  ``orchestration.partitions_start`` (``PESQUISA_PARTITIONS_START``, default 2025-01-01), read when
  the code location loads; ``end_offset=1`` makes today's partition exist, so files arriving today can
  be processed today.
- ``camera_groups``: dynamic partitions, one per camera GROUP of the registry
  (:func:`pipelines.batch.camera_groups`: agency x H3 cell, plus ``unregistered``). Groups, not
  cameras: 3,000 cameras x 365 days would break Dagster's partition limit; tens of groups do not.
  :func:`sync_camera_groups` adds the registry's groups (the inbox sensor and ``pesquisa dagster``
  call it).
- ``day_x_group``: extraction's multi-partitions, ``date`` x ``camera_group`` (a key reads
  ``<group>|<YYYY-MM-DD>``: Dagster orders dimensions by name).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from lakehouse.settings import get_settings

PARTITIONS_START = get_settings().orchestration.partitions_start

daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)
camera_groups = dg.DynamicPartitionsDefinition(name="camera_groups")
day_x_group = dg.MultiPartitionsDefinition({"date": daily, "camera_group": camera_groups})


def partition_key(day: str, group: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day, "camera_group": group})


def missing_groups(instance: dg.DagsterInstance, groups: Iterable[str]) -> list[str]:
    have = set(instance.get_dynamic_partitions(camera_groups.name))
    return sorted({g for g in groups if g not in have})


def sync_camera_groups(
    instance: dg.DagsterInstance, lh, resolution: int | None = None, extra: Iterable[str] = ()
) -> list[str]:
    """Add the registry's camera groups (and ``extra``) that the instance lacks. Returns the added."""
    from pipelines.batch import DEFAULT_GROUP_H3_RES, UNREGISTERED_GROUP
    from pipelines.batch import camera_groups as registry_groups

    groups = set(registry_groups(lh, resolution or DEFAULT_GROUP_H3_RES)) | {UNREGISTERED_GROUP} | set(extra)
    new = missing_groups(instance, groups)
    if new:
        instance.add_dynamic_partitions(camera_groups.name, new)
    return new
