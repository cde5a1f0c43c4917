"""One meaning of ``--from`` / ``--to`` for every command, page and asset (lakehouse.timeutil):
a bare date as ``--to`` is that whole day, inclusive, in the home time zone (setting ``time.zone``).

Before, ``--to 2026-01-31`` included the 31st in ``plates search``, excluded it in ``crime
hotspots``, was a whole UTC day in ``backfill`` and the crime-map page added a day of its own; here
the same inputs give the same window everywhere, in a home whose zone is not UTC."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import h3
import pytest

from jobs.cli import main
from lakehouse import Lakehouse
from lakehouse.timeutil import FROM_HELP, TO_HELP, TimeRange

ZONE = "America/Asuncion"  # UTC-3 in January
UTC = dt.UTC
#: inside 2026-01-31 local (22:00 local, already Feb 1st in UTC) / just after it
INSIDE = dt.datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
AFTER = dt.datetime(2026, 2, 1, 3, 30, tzinfo=UTC)
BEFORE = dt.datetime(2026, 1, 1, 2, 0, tzinfo=UTC)  # Dec 31st 23:00 local
WINDOW = ("2026-01-01", "2026-01-31")
EXPECTED = TimeRange(dt.datetime(2026, 1, 1, 3, tzinfo=UTC), dt.datetime(2026, 2, 1, 3, tzinfo=UTC))


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pesquisa.yaml").write_text(f"time:\n  zone: {ZONE}\n")
    monkeypatch.delenv("PESQUISA_TZ", raising=False)
    from pipelines.governance.identity import map_os_user

    map_os_user(home, "ana", role="admin", agency=None)  # searches act as a proven user
    lh = Lakehouse(home=home)
    lat, lon = -25.29, -57.60
    lh.append(
        "cameras",
        [
            {
                "camera_id": "c1",
                "agency": "municipal",
                "name": "c1",
                "lat": lat,
                "lon": lon,
                "kind": "street",
                "shared_with": [],
            }
        ],
    )
    lh.append(
        "plate_reads",
        [
            {
                "read_id": f"r-{i}",
                "camera_id": "c1",
                "agency": "municipal",
                "ts": t,
                "plate": "ABC123",
                "confidence": 0.9,
                "candidates": [{"text": "ABC123", "score": 0.9}],
                "source_uri": "/v.mp4",
                "offset_s": 0.0,
                "model_version": "t",
            }
            for i, t in enumerate((BEFORE, INSIDE, AFTER))
        ],
    )
    cell = h3.latlng_to_cell(lat, lon, 9)
    lh.append(
        "incidents",
        [
            {"incident_id": f"i-{i}", "ts": t, "lat": lat, "lon": lon, "h3": cell, "type": "THEFT"}
            for i, t in enumerate((BEFORE, INSIDE, AFTER))
        ],
    )
    start = INSIDE - dt.timedelta(minutes=5)
    lh.append(
        "videos",
        [
            {
                "video_id": "v-in",
                "camera_id": "c1",
                "agency": "municipal",
                "uri": "/in.mp4",
                "start_ts": start,
                "end_ts": INSIDE,
                "status": "processed",
            },
            {
                "video_id": "v-after",
                "camera_id": "c1",
                "agency": "municipal",
                "uri": "/after.mp4",
                "start_ts": AFTER,
                "end_ts": AFTER,
                "status": "processed",
            },
        ],
    )
    return home


def _json(capsys) -> list[dict]:
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]


def test_the_parser_itself() -> None:
    assert TimeRange.parse(*WINDOW, tz=ZONE) == EXPECTED
    assert TimeRange.parse(*WINDOW).end == dt.datetime(2026, 2, 1, tzinfo=UTC)  # UTC home
    assert TimeRange.parse("2026-01-01", "2026-01-31T12:00", tz=ZONE).end == dt.datetime(
        2026, 1, 31, 15, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="before"):
        TimeRange.parse("2026-02-01", "2026-01-01")


def test_cli_commands_agree(home: Path, capsys) -> None:
    h = str(home)
    assert (
        main(
            [
                "--home",
                h,
                "--json",
                "plates",
                "search",
                "ABC123",
                "--from",
                WINDOW[0],
                "--to",
                WINDOW[1],
                "--case",
                "C-1",
                "--purpose",
                "time test",
            ]
        )
        == 0
    )
    assert sorted(r["read_id"] for r in _json(capsys)) == ["r-1"]

    assert (
        main(
            ["--home", h, "--json", "crime", "heatmap", "--res", "9", "--from", WINDOW[0], "--to", WINDOW[1]]
        )
        == 0
    )
    assert sum(r["count"] for r in _json(capsys)) == 1

    assert (
        main(
            [
                "--home",
                h,
                "--json",
                "backfill",
                "--model-version",
                "any",
                "--dry-run",
                "--from",
                WINDOW[0],
                "--to",
                WINDOW[1],
            ]
        )
        == 0
    )
    assert [r["video_id"] for r in _json(capsys)] == ["v-in"]


def test_help_states_the_meaning(capsys) -> None:
    for cmd in (["plates", "search"], ["faces", "search"], ["crime", "heatmap"], ["backfill"]):
        with pytest.raises(SystemExit):
            main([*cmd, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert " ".join(TO_HELP.split()) in text and " ".join(FROM_HELP.split()) in text, cmd


def test_app_and_dagster_agree(home: Path) -> None:
    from app.pages.crime_map import _period
    from app.ui.filters import Filters
    from dagster_project.defs.crime.assets import CrimeMapConfig
    from pipelines.governance import SearchContext

    days = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    zone = Lakehouse(home=home).settings.time.zone
    assert zone == ZONE
    assert _period(days, zone) == (EXPECTED.start, EXPECTED.end)  # the crime map adds no day of its own
    ctx = SearchContext(user="ana", role="admin", case_number="C-1", purpose="p")
    assert Filters(days[0], days[1], None, None).read_scope(ctx, zone).time == EXPECTED
    start, end = CrimeMapConfig(days=31, end=WINDOW[1]).window(zone)
    assert (start, end) == (EXPECTED.start, EXPECTED.end)
