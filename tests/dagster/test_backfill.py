"""``pesquisa backfill``: source selection from the videos table (the real re-processing is in
test_extraction_assets.py)."""

from __future__ import annotations

import datetime as dt
import json

from jobs.cli import main


def _videos(home) -> list[dict]:
    from lakehouse import Lakehouse

    lh = Lakehouse(home=home)
    rows = []
    for day in (1, 2, 3):
        for cam in ("cam-1", "cam-2"):
            start = dt.datetime(2026, 3, day, 10, tzinfo=dt.UTC)
            rows.append(
                {
                    "video_id": f"v{day}-{cam}",
                    "camera_id": cam,
                    "agency": "municipal",
                    "uri": f"/recordings/{cam}/{day}.mp4",
                    "start_ts": start,
                    "end_ts": start + dt.timedelta(minutes=5),
                    "status": "processed",
                }
            )
    lh.append("videos", rows)
    return rows


def test_backfill_dry_run_selects_range_and_camera(tmp_path, capsys) -> None:
    home = tmp_path / "home"
    _videos(home)
    rc = main(
        [
            "--home",
            str(home),
            "--json",
            "backfill",
            "--model-version",
            "any",
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-03",
            "--camera",
            "cam-1",
            "--dry-run",
        ]
    )
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert sorted(r["video_id"] for r in lines) == ["v2-cam-1", "v3-cam-1"]
    assert {r["uri"] for r in lines} == {"/recordings/cam-1/2.mp4", "/recordings/cam-1/3.mp4"}

    rc = main(["--home", str(home), "--json", "backfill", "--model-version", "any", "--dry-run"])
    assert rc == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if x.strip()]) == 6


def test_backfill_rejects_reversed_range(tmp_path, capsys) -> None:
    rc = main(
        [
            "--home",
            str(tmp_path),
            "backfill",
            "--model-version",
            "v",
            "--from",
            "2026-03-03",
            "--to",
            "2026-03-01",
        ]
    )
    assert rc == 2  # bad input, like every --from/--to error
    assert "before" in capsys.readouterr().err
