"""``inbox_sensor``: new recorded files in ``HOME/inbox/<camera_id>/<YYYY-MM-DD>/`` -> a run of
``extracted_video`` for that day.

The cursor keeps one fingerprint per day (names, sizes, modification times of its files); a day
whose fingerprint changed is requested again (the library skips the files it already did). Files
modified less than ``orchestration.inbox_settle_s`` (``PESQUISA_INBOX_SETTLE_S``) seconds ago (default 30) are still being copied and
wait for a later tick.
"""

import hashlib
import json
import os
from collections import defaultdict

import dagster as dg

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.partitions import daily
from dagster_project.defs.resources import LakehouseResource
from pipelines.batch import Source, scan_inbox

extract_job = dg.define_asset_job("extract_video_job", selection=[extracted_video], partitions_def=daily)



def day_fingerprints(sources: list[Source]) -> dict[str, str]:
    by_day: dict[str, list[str]] = defaultdict(list)
    for s in sources:
        if s.day is not None:
            by_day[s.day.isoformat()].append(f"{s.camera_id}/{os.path.basename(s.path)}:{s.size}:{s.mtime_ns}")
    return {day: hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:20]
            for day, items in by_day.items()}


@dg.sensor(job=extract_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Requests extracted_video for each day whose inbox folder gained or changed files.")
def inbox_sensor(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    settle_s = lakehouse.lakehouse().settings.orchestration.inbox_settle_s
    current = day_fingerprints(scan_inbox(lakehouse.home_path, settle_s=settle_s))
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    for day, fp in sorted(current.items()):
        if seen.get(day) == fp:
            continue
        if not daily.has_partition_key(day):
            skipped.append(day)
            continue
        requests.append(dg.RunRequest(run_key=f"inbox:{day}:{fp}", partition_key=day,
                                      tags={"pesquisa/trigger": "inbox"}))
    if skipped:
        context.log.warning(f"inbox days outside the partitions (orchestration.partitions_start): {skipped}")
    cursor = json.dumps({**seen, **current}, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed inbox files"), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
