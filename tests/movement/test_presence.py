"""The plate presence index changes how fast convoy is, never what it (or stakeout) returns.

Each result is computed over the same home without the index (every day aggregated from
``plate_reads``), with it, after an append made one day stale, and after the rebuild; convoy is
also checked against the plain one-query form (:func:`convoy_sql`). The heavy-plate cap gives
exactly the convoy search of the narrowed window.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.governance.context import SearchContext
from pipelines.governance.scope import ReadScope
from pipelines.movement import presence
from pipelines.movement.convoy import convoy, convoy_sql, score_candidates
from pipelines.movement.reads import arrow, connect, scoped_reads
from pipelines.movement.stakeout import PlaceWindow, rank_presence


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Its own city: the tests below append reads and build the index."""
    from lakehouse import Lakehouse
    from pipelines.movement.scenario import simulate_city

    lh = Lakehouse(home=tmp_path_factory.mktemp("presence"))
    scn = simulate_city(seed=3)
    scn.write_to(lh)
    return lh, scn


def _convoys(lh, scn, ctx, **kw):
    out = []
    for target, _, a, b in scn.truth.convoys[:3]:
        scope = ReadScope.of(ctx, start=a - dt.timedelta(days=2), end=b + dt.timedelta(days=2))
        out.append(convoy(lh, scope, target, window_s=60, min_cameras=2, limit=None, **kw).rows)
    return out


def _stakeouts(lh, scn, ctx):
    out = []
    for _, wins in scn.truth.stakeouts[:3]:
        windows = [PlaceWindow(w.start, w.end, cameras=w.cameras) for w in wins]
        out.append(rank_presence(lh, ReadScope.of(ctx), windows, min_windows=2)[0])
    return out


def _plain_convoy(lh, scope, target):
    """The one-query form: target, pairs and background counts all from ``plate_reads``."""
    sr = scoped_reads(lh, scope)
    span = (scope.time.end - scope.time.start).total_seconds()
    with connect(lh) as con:
        rows = arrow(con, convoy_sql(sr.where(), target, 60.0, 2)).to_pylist()
    return score_candidates(rows, 60.0, span)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "reads"} for r in rows]


def test_index_changes_nothing_but_speed(home, ctx) -> None:
    lh, scn = home
    police = SearchContext(user="p", agency="police911", case_number="C-9", purpose="p")
    before = [_convoys(lh, scn, c) for c in (ctx, police)] + [_stakeouts(lh, scn, c) for c in (ctx, police)]
    assert not presence.fresh_days(lh)
    built = presence.build_presence(lh)
    assert sum(built["days"].values()) > 0
    assert set(presence.fresh_days(lh)) == set(presence.source_days(lh))
    assert presence.stale_days(lh) == []
    assert presence.build_presence(lh)["days"] == {}  # nothing stale: nothing rebuilt
    with connect(lh) as con:
        assert presence.register(con, lh)["fresh_days"] == len(presence.source_days(lh))
    after = [_convoys(lh, scn, c) for c in (ctx, police)] + [_stakeouts(lh, scn, c) for c in (ctx, police)]
    assert after == before
    assert before[0][0][0]["plate"] == scn.truth.convoys[0][1]
    assert before[2][0][0]["plate"] == scn.truth.stakeouts[0][0]
    # the plain one-query form over plate_reads gives the same candidates, counts and p-values
    target, _, a, b = scn.truth.convoys[0]
    scope = ReadScope.of(ctx, start=a - dt.timedelta(days=2), end=b + dt.timedelta(days=2))
    assert _strip(_plain_convoy(lh, scope, target)) == _strip(before[0][0])


def test_stale_day_is_read_from_plate_reads_until_rebuilt(home, ctx) -> None:
    lh, scn = home
    presence.build_presence(lh)
    target, partner, a, b = scn.truth.convoys[1]
    scope = ReadScope.of(ctx, start=a - dt.timedelta(days=1), end=b + dt.timedelta(days=1))
    old = convoy(lh, scope, target, window_s=60, min_cameras=2, limit=None)
    # a late read of the partner, next to a target read: that day's files change
    t = next(r for r in scn.rows if r["plate"] == target and a <= r["ts"] <= b)
    late = {
        **{k: v for k, v in t.items() if k not in ("read_id", "plate")},
        "read_id": "late-1",
        "plate": partner,
        "ts": t["ts"] + dt.timedelta(seconds=5),
    }
    lh.append("plate_reads", [late])
    day = late["ts"].astimezone(dt.UTC).date()
    assert presence.stale_days(lh) == [day]
    assert day not in presence.fresh_days(lh)
    new = convoy(lh, scope, target, window_s=60, min_cameras=2, limit=None)
    assert _strip(new.rows) == _strip(_plain_convoy(lh, scope, target))
    got = {r["plate"]: r for r in new.rows}[partner]
    assert got["n_cooccurrences"] == {r["plate"]: r for r in old.rows}[partner]["n_cooccurrences"] + 1
    assert set(presence.build_presence(lh)["days"]) == {day.isoformat()}
    assert convoy(lh, scope, target, window_s=60, min_cameras=2, limit=None).rows == new.rows


def test_heavy_target_is_searched_over_its_most_recent_reads(home, ctx) -> None:
    """A bus (reads all day, every day) with a cap: exactly the search of the narrowed window."""
    lh, scn = home
    presence.build_presence(lh)
    bus = scn.truth.buses[0]
    scope = ReadScope.of(ctx, start=scn.start, end=scn.end)
    capped = convoy(lh, scope, bus, min_cameras=2, limit=None, max_target_reads=60)
    reads = sorted((r["ts"] for r in scn.rows if r["plate"] == bus), reverse=True)
    assert capped.target_reads_in_window == len(reads) > 60
    assert capped.narrowed_from == reads[59]
    assert capped.target_reads == sum(1 for t in reads if t >= reads[59])
    assert capped.parameters["narrowed_from"] == reads[59].isoformat()
    narrowed = ReadScope.of(ctx, start=reads[59], end=scn.end)
    plain = convoy(lh, narrowed, bus, min_cameras=2, limit=None, max_target_reads=0)
    assert plain.narrowed_from is None and capped.rows == plain.rows
    # an ordinary plate is below the default cap: never narrowed
    target = scn.truth.convoys[0][0]
    assert convoy(lh, scope, target, min_cameras=2).narrowed_from is None
    with pytest.raises(ValueError, match="max-target-reads"):
        convoy(lh, scope, bus, max_target_reads=-1)


def test_retention_rebuilds_the_index_without_the_erased_reads(tmp_path, ctx) -> None:
    from lakehouse import Lakehouse, maintenance
    from pipelines.movement.scenario import SMALL_CITY, simulate_city

    lh = Lakehouse(home=tmp_path / "home")
    scn = simulate_city(**SMALL_CITY, seed=11)
    scn.write_to(lh)
    presence.build_presence(lh)
    cutoff = scn.start + (scn.end - scn.start) / 2
    keep_days = 30
    now = cutoff + dt.timedelta(days=keep_days)
    res = maintenance.retention(lh, {"plate_reads": keep_days}, now=now, names=["plate_reads"])
    assert any(r.table == "plate_presence" and r.detail["days_rebuilt"] for r in res)
    assert presence.stale_days(lh) == []
    left = lh.read("plate_presence", columns=["first_ts", "reads"])
    assert min(left["first_ts"].to_pylist()) >= cutoff
    assert sum(left["reads"].to_pylist()) == lh.read("plate_reads", columns=["plate"]).num_rows
    target, _, a, b = scn.truth.convoys[-1]
    scope = ReadScope.of(ctx, start=scn.start, end=scn.end)
    assert _strip(convoy(lh, scope, target, window_s=60, min_cameras=2, limit=None).rows) == _strip(
        _plain_convoy(lh, scope, target)
    )
