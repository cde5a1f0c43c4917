"""The plate index, the DuckDB scan and the FAISS face index honour the current model version, and
stay consistent when a version switch (backfill or rollback) commits: no rebuild is needed because
the indexes hold every version and the filter is read, per search, from source_versions."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse import Lakehouse
from pipelines.search import plate_match as pm
from pipelines.search.face_index import FaceIndex
from pipelines.search.filters import RowFilter
from pipelines.search.plate_index import PlateIndex
from pipelines.search.plates import find_plates
from pipelines.versions import set_version, version_filter
from tests.versions.conftest import commit_source, face_row

V1, V2 = "m-v1", "m-v2"


def _city(lh: Lakehouse) -> None:
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123"), (5.0, "XYZ789")], [(2.0, 1), (6.0, 2)])
    commit_source(lh, "vidB", "cam-2", V1, [(3.0, "ABC123")], [(4.0, 3)])
    commit_source(lh, "vidA", "cam-1", V2, [(1.0, "ABC123"), (5.0, "XYZ780")], [(2.0, 1), (6.0, 2)])


def _hits(lh: Lakehouse, text: str, strategy: str, policy=None) -> list[tuple[str, str]]:
    flt = RowFilter(versions=version_filter(lh, policy))
    hits, total, used = find_plates(lh, pm.parse_pattern(text), flt, limit=None, strategy=strategy)
    assert used == strategy and total == len(hits)
    return sorted((h["video_id"], h["model_version"]) for h in hits)


@pytest.mark.parametrize("strategy", ["index", "scan"])
def test_plate_search_shows_each_pass_once_and_follows_switches(lakehouse, strategy) -> None:
    lh = lakehouse
    _city(lh)
    if strategy == "index":
        PlateIndex(lh).update()
    assert _hits(lh, "ABC123", strategy) == [("vidA", V2), ("vidB", V1)]  # each pass once, current version
    assert _hits(lh, "XYZ789", strategy) == []  # v1's reading of vidA is not current
    assert _hits(lh, "XYZ780", strategy) == [("vidA", V2)]
    assert _hits(lh, "XYZ789", strategy, V1) == [("vidA", V1)]  # --model-version v1
    # rollback commits: the same index (no rebuild) now shows v1 for vidA
    set_version(lh, V1, cameras=["cam-1"], by="ops")
    assert _hits(lh, "XYZ789", strategy) == [("vidA", V1)]
    assert _hits(lh, "ABC123", strategy) == [("vidA", V1), ("vidB", V1)]
    assert RowFilter(versions=version_filter(lh)).as_dict()["versions"]["hidden"] == {V2: 1}


def test_face_index_shows_each_sighting_once(lakehouse) -> None:
    lh = lakehouse
    _city(lh)
    idx = FaceIndex(lh)
    idx.update(lh)
    probe = np.asarray(face_row("vidA", "cam-1", V1, 2.0, 1)["embedding"], np.float32)
    res = idx.search(probe, 10, RowFilter(versions=version_filter(lh)))
    keys = [(r["video_id"], r["offset_s"]) for r in res]
    assert len(keys) == len(set(keys)) == 3  # three sightings, one row each
    assert {r["model_version"] for r in res if r["video_id"] == "vidA"} == {V2}
    assert res[0]["video_id"] == "vidA" and res[0]["distance"] < 1e-3
    pinned = idx.search(probe, 10, RowFilter(versions=version_filter(lh, V1)))
    assert {r["model_version"] for r in pinned} == {V1} and len(pinned) == 3
    set_version(lh, V1, video_ids=["vidA"], by="ops")
    rolled = idx.search(probe, 10, RowFilter(versions=version_filter(lh)))
    assert {r["model_version"] for r in rolled} == {V1} and len(rolled) == 3
