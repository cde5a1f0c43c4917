"""The current-version map and its filter: one version per source, switched in one commit,
pinned views, rollback, half-done re-processes."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.governance.scope import VersionPolicy
from pipelines.versions import current_versions, set_version, version_filter
from tests.versions.conftest import commit_source

V1, V2 = "m-v1", "m-v2"


def _city(lh: Lakehouse) -> None:
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123"), (5.0, "XYZ789")], [(2.0, 1)])
    commit_source(lh, "vidB", "cam-2", V1, [(3.0, "ABC123")], [(4.0, 2)])
    commit_source(lh, "vidA", "cam-1", V2, [(1.0, "ABC123"), (5.0, "XYZ780")], [(2.0, 1)])
    commit_source(lh, "vidB", "cam-2", V2, [(3.0, "ABC123")], [(4.0, 2)])


def _visible(lh: Lakehouse, table: str, policy=None) -> pa.Table:
    return lh.read(table, filter=version_filter(lh, policy).dataset_expr())


def test_backfill_switches_every_source_and_each_pass_shows_once(lakehouse) -> None:
    lh = lakehouse
    _city(lh)
    assert lh.count("plate_reads") == 6 and lh.count("face_sightings") == 4  # both versions stored
    assert current_versions(lh) == {"vidA": V2, "vidB": V2}
    flt = version_filter(lh)
    reads = _visible(lh, "plate_reads")
    assert reads.num_rows == 3 and set(reads["model_version"].to_pylist()) == {V2}
    assert _visible(lh, "face_sightings").num_rows == 2
    # the same filter as SQL, as a Polars expression and as a numpy mask
    con = duckdb.connect()
    con.register("plate_reads", lh.dataset("plate_reads"))
    assert con.execute(f"SELECT count(*) FROM plate_reads WHERE {flt.sql()}").fetchone()[0] == 3
    assert lh.scan("plate_reads").filter(flt.polars_expr()).collect().height == 3
    t = lh.read("plate_reads", columns=["video_id", "model_version"])
    m = flt.mask(
        np.array(t["video_id"].to_pylist(), object), np.array(t["model_version"].to_pylist(), object)
    )
    assert int(m.sum()) == 3
    # a pinned policy sees the old version
    old = _visible(lh, "plate_reads", VersionPolicy(V1))
    assert old.num_rows == 3 and set(old["model_version"].to_pylist()) == {V1}
    assert "XYZ789" in old["plate"].to_pylist()


def test_half_done_reprocess_keeps_the_previous_version(lakehouse) -> None:
    lh = lakehouse
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123")], [(2.0, 1)])
    # v2 committed plate_reads then died before faces and the switch (run left 'running')
    commit_source(
        lh, "vidA", "cam-1", V2, [(1.0, "ABD123"), (9.0, "QQQ111")], [], switch=False, status="running"
    )
    assert current_versions(lh) == {"vidA": V1}
    reads = _visible(lh, "plate_reads")
    assert reads["plate"].to_pylist() == ["ABC123"]
    assert _visible(lh, "face_sightings").num_rows == 1


def test_rollback_and_cli(tmp_path, capsys, cli_user) -> None:
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    _city(lh)
    cli_user(home, role="investigator", agency="municipal")  # investigators cannot switch versions
    assert main(["--home", str(home), "versions", "set", "--camera", "cam-1", "--model-version", V1]) == 3
    assert "may not ingest" in capsys.readouterr().err
    assert current_versions(lh) == {"vidA": V2, "vidB": V2}
    refused = lh.read("audit_log").to_pylist()  # the refusal is logged (issue 12.3)
    assert [(a["action"], a["outcome"]) for a in refused] == [("versions.set", "refused")]
    cli_user(home, role="admin")  # the OS user running the tests acts as an admin
    rc = main(
        [
            "--home",
            str(home),
            "--json",
            "versions",
            "set",
            "--camera",
            "cam-1",
            "--model-version",
            V1,
            "--reason",
            "v2 misreads cam-1",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["switched"] == 1 and summary["model_version"] == V1
    assert current_versions(lh) == {"vidA": V1, "vidB": V2}
    reads = _visible(lh, "plate_reads")
    assert sorted(zip(reads["video_id"].to_pylist(), reads["model_version"].to_pylist(), strict=True)) == [
        ("vidA", V1),
        ("vidA", V1),
        ("vidB", V2),
    ]
    audit = [a for a in lh.read("audit_log").to_pylist() if a["outcome"] == "ok"]
    assert [a["action"] for a in audit] == ["versions.set"] and "vidA" in audit[0]["parameters"]
    sv = {r["video_id"]: r for r in lh.read("source_versions").to_pylist()}
    assert sv["vidA"]["previous_version"] == V2 and sv["vidA"]["reason"] == "v2 misreads cam-1"

    assert main(["--home", str(home), "--json", "versions", "list"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    by = {(r["camera_id"], r["model_version"]): r for r in rows}
    assert by[("cam-1", V1)]["current"] == 1 and by[("cam-1", V2)]["current"] == 0
    assert by[("cam-2", V2)]["current"] == 1

    # a version a source never had switches nothing, exits non-zero
    assert main(["--home", str(home), "versions", "set", "--camera", "cam-2", "--model-version", "nope"]) == 1


def test_live_segments_are_never_hidden_by_a_camera_switch(lakehouse) -> None:
    from pipelines.versions import record_switch

    lh = lakehouse
    commit_source(lh, "vidA", "cam-1", V1, [(1.0, "ABC123")])
    commit_source(lh, "vidA", "cam-1", V2, [(1.0, "ABC123")])
    # a live segment of the same camera, read by the live model version only
    commit_source(lh, "live-seg-1", "cam-1", "live-v9", [(30.0, "LIVE01")], switch=False)
    record_switch(
        lh,
        [{"video_id": "live-seg-1", "camera_id": "cam-1", "model_version": "live-v9", "kind": "live"}],
        by="live",
        reason="segment closed",
    )
    plan = set_version(lh, V1, cameras=["cam-1"], by="ops")
    assert [s["video_id"] for s in plan.switched] == ["vidA"]
    plates = sorted(_visible(lh, "plate_reads")["plate"].to_pylist())
    assert plates == ["ABC123", "LIVE01"]
