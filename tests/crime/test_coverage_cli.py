"""Camera coverage of hot spots, and the ``pesquisa incidents``/``pesquisa crime`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import numpy as np
import polars as pl
import pytest
from crime_testkit import with_h3

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.crime.coverage import camera_coverage
from pipelines.crime.grid import haversine_m
from pipelines.synth.incidents import SyntheticIncidents, write_incidents_csv


def _cameras_at(centers: list[tuple[float, float]]) -> list[dict]:
    return [
        {
            "camera_id": f"cam-{i}",
            "agency": "municipal",
            "name": f"hot {i}",
            "lat": la,
            "lon": lo,
            "h3": h3.latlng_to_cell(la, lo, 9),
            "kind": "street",
        }
        for i, (la, lo) in enumerate(centers)
    ]


def test_coverage_of_planted_hot_spots(planted: SyntheticIncidents, lakehouse: Lakehouse) -> None:
    lakehouse.append("incidents", with_h3(planted).to_arrow())
    centers = planted.hotspot_centers
    lakehouse.append("cameras", _cameras_at(centers[:2]))
    res = camera_coverage(lakehouse, radius_m=400.0, res=9, k=1, top=5)
    s = res.summary
    cells = res.cells
    # independent check of "covered": centre within 400 m of a camera
    d = np.min(
        [haversine_m(cells["lat"].to_numpy(), cells["lon"].to_numpy(), la, lo) for la, lo in centers[:2]],
        axis=0,
    )
    assert cells["covered"].to_list() == (d <= 400.0).tolist()
    planted_cells = set(planted.truth["hotspot_cells"])
    hot = set(cells["h3"].to_list())
    assert planted_cells <= hot
    covered = set(cells.filter(pl.col("covered"))["h3"].to_list())
    first_two = {c for hs in planted.truth["hotspots"][:2] for c in hs["cells"]}
    assert first_two <= covered  # the 7 cells of each watched hot spot lie within 400 m of its camera
    assert s["covered_cells"] == len(covered) and s["hot_cells"] == len(hot)
    assert s["share_incidents"] == pytest.approx(
        cells.filter(pl.col("covered"))["count"].sum() / cells["count"].sum()
    )
    assert 0.3 < s["share_incidents"] < 0.5  # 2 of 5 equal hot spots
    # cover first: one site in each of the three unwatched hot spots, each taking its whole cluster
    pr = res.priorities
    assert pr.height == 5
    spots = [
        next(
            i
            for i, hs in enumerate(planted.truth["hotspots"])
            if c in {n for x in hs["cells"] for n in h3.grid_disk(x, 2)}
        )
        for c in pr["h3"].to_list()[:3]
    ]
    assert sorted(spots) == [2, 3, 4]
    assert pr["gain_incidents"].is_sorted(descending=True)
    assert pr["cumulative_share"][2] > 0.9


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_import_and_analytics(tmp_path: Path, planted: SyntheticIncidents, capsys, cli_user) -> None:
    home = str(tmp_path / "home")
    cli_user(home, role="admin")  # camera coverage shows the cameras the caller may know of (issue 12.2)
    csv_path = tmp_path / "incidents.csv"
    write_incidents_csv(planted.table.slice(0, 6000), csv_path)

    rc, out, _ = _run(["--home", home, "incidents", "import", str(csv_path), "--json"], capsys)
    rep = json.loads(out)
    assert rc == 0 and rep["written"] == rep["added"] == 6000
    rc, out, _ = _run(["incidents", "import", str(csv_path), "--home", home], capsys)
    assert rc == 0 and "(0 new, 6000 updated)" in out

    rc, out, _ = _run(["--home", home, "--json", "crime", "heatmap", "--res", "8"], capsys)
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert rc == 0 and all({"h3", "count"} <= set(r) for r in rows)
    assert sum(r["count"] for r in rows) == 6000

    rc, out, _ = _run(
        [
            "--home",
            home,
            "--json",
            "crime",
            "hotspots",
            "--type",
            "theft,burglary",
            "--from",
            "2026-01-15",
            "--to",
            "2026-03-01",
        ],
        capsys,
    )
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert rc == 0 and rows and all({"h3", "count", "z", "p"} <= set(r) for r in rows)
    assert all(r["p"] < 0.05 for r in rows)

    rc, out, _ = _run(["--home", home, "crime", "hotspots", "--limit", "5"], capsys)
    assert rc == 0 and "hot" in out and out.splitlines()[1].split()[:2] == ["h3", "kind"]

    rc, out, _ = _run(["--home", home, "crime", "hours", "--tz", "America/Asuncion"], capsys)
    lines = out.strip().splitlines()
    assert rc == 0 and lines[1].split() == ["hour", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert len(lines) == 2 + 24

    rc, out, _ = _run(["--home", home, "--json", "crime", "near-repeat", "--permutations", "19"], capsys)
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert rc == 0 and recs[-1]["kind"] == "close" and len(recs) == 1 + 5 * 5

    rc, out, _ = _run(["--home", home, "crime", "coverage", "--top", "3"], capsys)
    assert rc == 0 and "cameras table is empty" in out and "rank" in out

    rc, out, _ = _run(["--home", home, "--json", "crime", "density", "--limit", "3"], capsys)
    assert rc == 0 and len(out.strip().splitlines()) == 3

    rc, out, err = _run(["--home", home, "crime", "heatmap", "--from", "last tuesday"], capsys)
    assert (
        rc == 2 and len(err.strip().splitlines()) == 1 and "not an ISO date" in err
    )  # same message and code as plates search

    rc, out, err = _run(["--home", home, "crime", "heatmap", "--type", "NO SUCH TYPE"], capsys)
    assert rc == 0 and "no incidents match" in out


def test_cli_import_with_explicit_columns_and_dry_run(tmp_path: Path, capsys) -> None:
    p = tmp_path / "odd.csv"
    p.write_text(
        "nro,cuando,fin,que,Y,X\n7,2026-03-01 22:30:00,2026-03-02 02:00:00,Robo,-25.30,-57.63\n"
        "8,2026-03-02 01:00:00,,Hurto,,\n"
    )
    home = str(tmp_path / "home")
    flags = [
        "--lat-col",
        "Y",
        "--lon-col",
        "X",
        "--time-col",
        "cuando",
        "--end-col",
        "fin",
        "--type-col",
        "que",
        "--id-col",
        "nro",
        "--tz",
        "America/Asuncion",
        "--agency",
        "policia",
    ]
    rc, out, _ = _run(["--home", home, "--json", "incidents", "import", str(p), "--dry-run", *flags], capsys)
    rep = json.loads(out)
    assert rc == 0 and rep["written"] == 1 and rep["missing_coords"] == 1 and rep["table_version"] is None
    assert Lakehouse(home=home).count("incidents") == 0
    rc, out, _ = _run(["--home", home, "incidents", "import", str(p), *flags], capsys)
    assert rc == 0 and "1 without usable coordinates" in out
    row = Lakehouse(home=home).read("incidents").to_pylist()[0]
    assert row["incident_id"] == "policia:7" and row["agency"] == "policia" and row["type"] == "ROBO"
    assert (row["ts"].hour, row["ts_end"].hour) == (1, 5)  # 22:30 and 02:00 at UTC-3
    rc, _, err = _run(["--home", home, "incidents", "import", str(p), "--tz", "Mars/Olympus"], capsys)
    assert rc == 1 and "unknown time zone" in err
