"""``inbox_sensor``: new recorded files in ``HOME/inbox/<camera_id>/<YYYY-MM-DD>/`` -> a run of
``extracted_video`` for each (day, camera group) whose files changed.

Cameras map to their registry group (:func:`pipelines.batch.camera_groups`; cameras missing from
the registry go to ``unregistered``); groups the Dagster instance does not know yet are added as
dynamic partitions in the same evaluation. The cursor keeps one fingerprint per day x group (names,
sizes, modification times of its files); a changed one is requested again (the library skips the
files it already did). Files modified less than ``orchestration.inbox_settle_s`` (``PESQUISA_INBOX_SETTLE_S``) seconds ago (default 30)
are still being copied and wait for a later tick.
"""

import hashlib
import json
import os
from collections import defaultdict

import dagster as dg

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.partitions import camera_groups, daily, day_x_group, partition_key
from dagster_project.defs.resources import LakehouseResource
from pipelines.batch import DEFAULT_GROUP_H3_RES, UNREGISTERED_GROUP, Source, group_of_camera, scan_inbox

extract_job = dg.define_asset_job(
    "extract_video_job", selection=[extracted_video], partitions_def=day_x_group
)


def fingerprints(sources: list[Source], groups: dict[str, str]) -> dict[str, str]:
    """``<day>|<group>`` -> fingerprint of that day's files of the group's cameras."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for s in sources:
        if s.day is not None:
            g = groups.get(s.camera_id, UNREGISTERED_GROUP)
            by_key[f"{s.day.isoformat()}|{g}"].append(
                f"{s.camera_id}/{os.path.basename(s.path)}:{s.size}:{s.mtime_ns}"
            )
    return {
        k: hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:20] for k, items in by_key.items()
    }


@dg.sensor(
    job=extract_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests extracted_video for each day x camera group whose inbox files changed.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    groups = group_of_camera(lakehouse.lakehouse(), DEFAULT_GROUP_H3_RES)
    settle_s = lakehouse.lakehouse().settings.orchestration.inbox_settle_s
    current = fingerprints(scan_inbox(lakehouse.home_path, settle_s=settle_s), groups)
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    wanted_groups: set[str] = set()
    for key, fp in sorted(current.items()):
        if seen.get(key) == fp:
            continue
        day, group = key.split("|", 1)
        if not daily.has_partition_key(day):
            skipped.append(day)
            continue
        wanted_groups.add(group)
        requests.append(
            dg.RunRequest(
                run_key=f"inbox:{key}:{fp}",
                partition_key=partition_key(day, group),
                tags={"pesquisa/trigger": "inbox"},
            )
        )
    if skipped:
        context.log.warning(
            f"inbox days outside the partitions (orchestration.partitions_start): {sorted(set(skipped))}"
        )
    have = set(context.instance.get_dynamic_partitions(camera_groups.name)) if wanted_groups else set()
    new_groups = sorted(wanted_groups - have)
    cursor = json.dumps({**seen, **current}, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed inbox files"), cursor=cursor)
    return dg.SensorResult(
        run_requests=requests,
        cursor=cursor,
        dynamic_partitions_requests=[camera_groups.build_add_request(new_groups)] if new_groups else [],
    )


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Adds the camera registry's groups as camera_groups partitions (for UI backfills).",
)
def camera_groups_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SensorResult:
    from pipelines.batch import camera_groups as registry_groups

    groups = set(registry_groups(lakehouse.lakehouse(), DEFAULT_GROUP_H3_RES)) | {UNREGISTERED_GROUP}
    new = sorted(groups - set(context.instance.get_dynamic_partitions(camera_groups.name)))
    if not new:
        return dg.SensorResult(skip_reason=dg.SkipReason("every registry group is a partition"))
    return dg.SensorResult(dynamic_partitions_requests=[camera_groups.build_add_request(new)])
