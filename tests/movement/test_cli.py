"""``pesquisa plates canvass``, ``movement ...`` and ``crime leads`` end to end on a small city."""

from __future__ import annotations

import json

import pytest

from jobs.cli import main
from pipelines.movement.scenario import SMALL_CITY, simulate_city

CASE = ["--case", "CASE-1", "--purpose", "test"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from lakehouse import Lakehouse

    h = tmp_path_factory.mktemp("cli")
    lh = Lakehouse(home=h)
    scn = simulate_city(**SMALL_CITY, seed=11)
    scn.write_to(lh)
    from pipelines.governance.identity import map_os_user

    map_os_user(h, "tester", role="admin", agency=None)  # the OS user running the tests (root in CI)
    return str(h), scn


def _json(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_canvass_cli(home, capsys) -> None:
    h, scn = home
    day = scn.start.date().isoformat()
    assert (
        main(
            [
                "--home",
                h,
                "plates",
                "canvass",
                "--camera",
                "C0101",
                "--from",
                day,
                "--to",
                day,
                "--json",
                *CASE,
            ]
        )
        == 0
    )
    rows = _json(capsys)
    expect = {
        r["plate"] for r in scn.rows if r["camera_id"] == "C0101" and r["ts"].date() == scn.start.date()
    }
    assert {r["plate"] for r in rows} == expect
    # an area flag as plate search has them; no case -> exit 2, nothing printed
    assert (
        main(
            [
                "--home",
                h,
                "plates",
                "canvass",
                "--near",
                "-25.38,-57.68,2500",
                "--from",
                day,
                "--to",
                day,
                "--json",
            ]
        )
        == 2
    )
    assert main(["--home", h, "plates", "canvass", "--from", day, "--to", day, *CASE]) == 2


def test_movement_cli(home, capsys) -> None:
    h, scn = home
    target, partner, a, b = scn.truth.convoys[0]
    rng = ["--from", scn.start.isoformat(), "--to", scn.end.isoformat()]
    assert (
        main(
            [
                "--home",
                h,
                "movement",
                "convoy",
                target,
                "--window",
                "60s",
                "--min-cameras",
                "3",
                *rng,
                "--json",
                *CASE,
            ]
        )
        == 0
    )
    assert _json(capsys)[0]["plate"] == partner
    plate, wins = scn.truth.stakeouts[0]
    at = [
        x for w in wins for x in ("--at", f"{','.join(w.cameras)}@{w.start.isoformat()}..{w.end.isoformat()}")
    ]
    assert main(["--home", h, "movement", "stakeout", *at, "--min", "2", "--json", *CASE]) == 0
    assert _json(capsys)[0]["plate"] == plate
    assert main(["--home", h, "movement", "counts", *rng, "--json"]) == 0
    assert sum(r["reads"] for r in _json(capsys)) == len(scn.rows)
    assert main(["--home", h, "movement", "flows", *rng, "--json"]) == 0
    assert _json(capsys)[0]["trips"] == sum(scn.truth.ring_od.values())
    assert main(["--home", h, "movement", "anomalies", *rng, "--kind", "clone", "--json", *CASE]) == 0
    assert {r["plate"] for r in _json(capsys)} == scn.truth.clones
    assert main(["--home", h, "movement", "stakeout", "--at", "C0101@bad", *CASE]) == 2


def test_crime_leads_cli(home, capsys) -> None:
    from lakehouse import Lakehouse
    from pipelines.movement.face_scenario import simulate_faces

    h, scn = home
    faces = simulate_faces(scn, crowd=60, seed=2)
    faces.write_to(Lakehouse(home=h))
    plate, ids = scn.truth.crime_series[0]
    sids = faces.truth.offenders[0][0]
    inc = [x for i in ids for x in ("--incident", i)]
    assert (
        main(
            [
                "--home",
                h,
                "crime",
                "leads",
                *inc,
                "--radius",
                "500",
                "--window",
                "30m",
                "--min",
                "2",
                "--json",
                *CASE,
            ]
        )
        == 0
    )
    recs = _json(capsys)
    assert recs[0]["plate"] == plate
    people = [r for r in recs if r.get("kind") == "face"]
    assert people and people[0]["face"] in sids and "embedding" not in people[0]
    assert main(["--home", h, "crime", "leads", *inc, "--no-faces", "--json", *CASE]) == 0
    assert not [r for r in _json(capsys) if r.get("kind") == "face"]
    assert main(["--home", h, "crime", "leads", *inc]) == 2  # no case


def test_presence_and_capped_convoy_cli(home, capsys) -> None:
    h, scn = home
    assert main(["--home", h, "movement", "presence", "--json"]) == 0
    built = _json(capsys)[0]
    assert built["days"] and all(n > 0 for n in built["days"].values())
    assert main(["--home", h, "movement", "presence", "--json"]) == 0
    assert _json(capsys)[0]["days"] == {}  # nothing changed since
    assert main(["--home", h, "movement", "presence", "--day", "yesterday"]) == 2
    target, partner, a, b = scn.truth.convoys[0]
    rng = ["--from", scn.start.isoformat(), "--to", scn.end.isoformat()]
    args = ["--home", h, "movement", "convoy", target, "--min-cameras", "3", *rng, *CASE]
    assert main([*args, "--json"]) == 0
    assert _json(capsys)[0]["plate"] == partner  # the same answer through the index
    n = sum(1 for r in scn.rows if r["plate"] == target)
    assert main([*args, "--max-target-reads", str(n - 1)]) == 0
    assert f"{target} has {n} reads in the window: searched its" in capsys.readouterr().out
    assert main([*args, "--max-target-reads", "-1"]) == 2
