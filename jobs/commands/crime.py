"""``pesquisa crime heatmap|hotspots|density|hours|near-repeat|coverage``: crime-map analytics.

Every action reads the ``incidents`` table with the same filters (``--type``, ``--from``, ``--to``)
and prints a readable table, or JSON lines with ``--json`` (``heatmap``: one line per cell with
``h3`` and ``count``; ``hotspots`` adds ``z`` and ``p``).
"""

from __future__ import annotations

import argparse
from typing import Any

from jobs.output import CliError, Output
from lakehouse.timeutil import FROM_HELP, TO_HELP


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("crime", parents=[common], help="crime-map analytics over the incidents table")
    csub = p.add_subparsers(dest="crime_cmd", metavar="ACTION", required=True)

    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument(
        "--type",
        action="append",
        metavar="T",
        help="incident type(s), repeatable or comma-separated (default: all)",
    )
    filters.add_argument("--from", dest="start", metavar="WHEN", help=FROM_HELP)
    filters.add_argument("--to", dest="end", metavar="WHEN", help=TO_HELP)
    filters.add_argument("--limit", type=int, help="print at most N rows")
    parents = [common, filters]

    h = csub.add_parser("heatmap", parents=parents, help="incident counts per H3 cell")
    h.add_argument("--res", type=int, default=9, help="H3 resolution (default 9)")
    h.add_argument("--by-type", action="store_true", help="one row per cell and type")
    h.add_argument("--period", choices=["day", "week", "month"], help="one row per cell and period")
    h.set_defaults(func=run_heatmap)

    g = csub.add_parser("hotspots", parents=parents, help="Getis-Ord Gi* hot and cold spots on H3 cells")
    g.add_argument("--res", type=int, default=9, help="H3 resolution (default 9)")
    g.add_argument("--k", type=int, default=1, help="k-ring neighbourhood (default 1)")
    g.add_argument(
        "--distance", type=float, metavar="M", help="distance-band weights in metres instead of k-ring"
    )
    g.add_argument("--permutations", type=int, default=0, help="also a permutation p (p_sim) with N shuffles")
    g.add_argument(
        "--all", action="store_true", help="every cell of the study area, not only significant ones"
    )
    g.add_argument(
        "--alpha", type=float, default=0.05, help="significance level for the listing (default 0.05)"
    )
    g.set_defaults(func=run_hotspots)

    d = csub.add_parser("density", parents=parents, help="kernel density surface at H3 cell centres")
    d.add_argument("--res", type=int, default=9, help="H3 resolution of the output cells (default 9)")
    d.add_argument("--bandwidth", type=float, default=250.0, metavar="M", help="Gaussian bandwidth in metres")
    d.set_defaults(func=run_density)

    hr = csub.add_parser("hours", parents=parents, help="hour x weekday table (aoristic for time windows)")
    hr.add_argument("--tz", default="UTC", help="local time zone for hours and weekdays (default UTC)")
    hr.add_argument("--no-aoristic", action="store_true", help="count windows at their start instead")
    hr.set_defaults(func=run_hours)

    nr = csub.add_parser(
        "near-repeat", parents=parents, help="Knox near-repeat test with Monte Carlo p-values"
    )
    nr.add_argument("--distances", default="0,100,200,400,800", help="distance band edges in metres")
    nr.add_argument("--days", default="0,7,14,21,28", help="time band edges in days")
    nr.add_argument("--close", default="200,7", help="cumulative close pair test: METRES,DAYS")
    nr.add_argument("--permutations", type=int, default=199, help="Monte Carlo shuffles (default 199)")
    nr.add_argument("--seed", type=int, default=0)
    nr.set_defaults(func=run_near_repeat)

    c = csub.add_parser(
        "coverage", parents=parents, help="camera coverage of Gi* hot spots; cells to cover first"
    )
    c.add_argument("--res", type=int, default=9, help="H3 resolution (default 9)")
    c.add_argument("--k", type=int, default=1, help="k-ring neighbourhood for Gi* (default 1)")
    c.add_argument(
        "--radius", type=float, default=150.0, metavar="M", help="camera radius in metres (default 150)"
    )
    c.add_argument("--top", type=int, default=10, help="sites to rank (default 10)")
    c.set_defaults(func=run_coverage)

    from jobs.commands.movement import register_leads

    register_leads(csub, common)


# ---------------------------------------------------------------------------------------- helpers
def _lh(args: argparse.Namespace) -> Any:
    from lakehouse import Lakehouse

    return Lakehouse(home=args.home)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    from lakehouse.settings import SettingsError, get_settings
    from lakehouse.timeutil import TimeRange

    types = ",".join(args.type) if args.type else None
    try:
        window = TimeRange.parse(args.start, args.end, tz=get_settings(args.home).time.zone)
    except (SettingsError, ValueError) as exc:
        raise CliError(str(exc), code=2) from None
    return {"types": types, "start": window.start, "end": window.end}


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CliError(f"{name} must be comma-separated numbers, got {text!r}") from None


def _limit(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    return rows[: args.limit] if args.limit else rows


def _check_res(res: int) -> None:
    if not 0 <= res <= 15:
        raise CliError(f"--res must be an H3 resolution 0..15, got {res}")


def _empty(out: Output, what: str) -> int:
    out.info(f"no incidents match the filters ({what})")
    return 0


# ---------------------------------------------------------------------------------------- actions
def run_heatmap(args: argparse.Namespace, out: Output) -> int:
    from pipelines.crime.heatmap import h3_counts

    _check_res(args.res)
    table = h3_counts(_lh(args), res=args.res, by_type=args.by_type, period=args.period, **_filters(args))
    if table.height == 0:
        return _empty(out, "heatmap")
    rows = _limit(table.to_dicts(), args)
    if not out.json_mode:
        out.info(
            f"{int(table['count'].sum())} incidents in {table['h3'].n_unique()} H3 cells (res {args.res})"
        )
    cols = ["h3"] + [c for c in ("type", "period") if c in table.columns] + ["count", "lat", "lon"]
    out.table(rows, cols)
    return 0


def run_hotspots(args: argparse.Namespace, out: Output) -> int:
    import polars as pl

    from pipelines.crime.hotspots import gi_star

    _check_res(args.res)
    try:
        table = gi_star(
            _lh(args),
            res=args.res,
            k=args.k,
            distance_m=args.distance,
            permutations=args.permutations,
            **_filters(args),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if table.height == 0:
        return _empty(out, "hotspots")
    sig = table.filter(pl.col("p") < args.alpha)
    shown = table if args.all else sig
    if not out.json_mode:
        hot = int((sig["z"] > 0).sum())
        out.info(
            f"Gi* on {table.height} cells (res {args.res}, "
            + (f"distance {args.distance:g} m" if args.distance else f"k={args.k}")
            + f"): {hot} hot and {sig.height - hot} cold at p < {args.alpha} (two-sided normal approximation)"
        )
    cols = (
        ["h3", "count", "z", "p"]
        + (["p_sim"] if "p_sim" in table.columns else [])
        + ["confidence", "lat", "lon"]
    )
    rows = [{**r, "kind": "hot" if r["z"] > 0 else "cold"} for r in _limit(shown.to_dicts(), args)]
    if not out.json_mode:
        rows = [
            {**r, "p": f"{r['p']:.2g}", **({"p_sim": f"{r['p_sim']:.3f}"} if "p_sim" in r else {})}
            for r in rows
        ]
    out.table(rows, ["h3", "kind", *cols[1:]])
    return 0


def run_density(args: argparse.Namespace, out: Output) -> int:
    from pipelines.crime.density import kernel_density

    _check_res(args.res)
    try:
        table = kernel_density(_lh(args), res=args.res, bandwidth_m=args.bandwidth, **_filters(args))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if table.height == 0:
        return _empty(out, "density")
    out.table(_limit(table.to_dicts(), args), ["h3", "density", "expected", "lat", "lon"])
    return 0


def run_hours(args: argparse.Namespace, out: Output) -> int:
    from pipelines.crime.temporal import hour_weekday, pivot

    try:
        table = hour_weekday(_lh(args), tz=args.tz, aoristic=not args.no_aoristic, **_filters(args))
    except Exception as exc:  # unknown time zone names surface as polars errors
        if "time zone" in str(exc).lower() or "timezone" in str(exc).lower():
            raise CliError(f"unknown time zone {args.tz!r}") from None
        raise
    if out.json_mode:
        out.table(table.to_dicts(), ["weekday", "day", "hour", "count", "exact", "windowed"])
        return 0
    total = float(table["count"].sum())
    out.info(
        f"{total:.0f} incidents by local hour ({args.tz}) and weekday; windowed share "
        f"{float(table['windowed'].sum()):.1f} spread aoristically"
    )
    wide = pivot(table)
    rows = [{k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()} for r in wide.to_dicts()]
    out.table(
        [{k: (f"{v:g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows], wide.columns
    )
    return 0


def run_near_repeat(args: argparse.Namespace, out: Output) -> int:
    from pipelines.crime.near_repeat import knox

    close = _floats(args.close, "--close")
    if len(close) != 2:
        raise CliError("--close must be METRES,DAYS")
    try:
        res = knox(
            _lh(args),
            distance_bands_m=_floats(args.distances, "--distances"),
            time_bands_days=_floats(args.days, "--days"),
            close=(close[0], close[1]),
            permutations=args.permutations,
            seed=args.seed,
            **_filters(args),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if out.json_mode:
        for r in res.table.to_dicts():
            out.record({"kind": "band", **r})
        out.record({"kind": "close", "n": res.n, "permutations": res.permutations, **res.close})
        return 0
    c = res.close
    out.info(
        f"Knox test on {res.n} incidents, {res.permutations} shuffles of the times. Pairs within "
        f"{c['distance_m']:g} m and {c['days']:g} days: observed {c['observed']}, expected "
        f"{c['expected']:.1f}, ratio {c['ratio'] or float('nan'):.2f}, p = {c['p']:.3f}"
    )
    out.table(
        _limit(res.table.to_dicts(), args),
        ["distance_band", "time_band", "observed", "expected", "ratio", "p"],
    )
    return 0


def run_coverage(args: argparse.Namespace, out: Output) -> int:
    from jobs.commands.login import cli_context
    from pipelines.crime.coverage import camera_coverage

    _check_res(args.res)
    try:
        res = camera_coverage(
            _lh(args),
            radius_m=args.radius,
            res=args.res,
            k=args.k,
            top=args.top,
            ctx=cli_context(args),
            **_filters(args),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    s = res.summary
    if out.json_mode:
        out.record({"kind": "summary", **s})
        for r in res.priorities.to_dicts():
            out.record({"kind": "priority", **r})
        return 0
    if s["cameras"] == 0:
        out.info("the cameras table is empty (pesquisa cameras import FILE); every hot spot is uncovered")
    if s["hot_cells"] == 0:
        out.info("no Gi* hot-spot cells with these filters")
        return 0
    out.info(
        f"{s['covered_cells']} of {s['hot_cells']} hot-spot cells ({100 * (s['share_cells'] or 0):.0f}%) and "
        f"{s['covered_incidents']} of {s['hot_incidents']} of their incidents "
        f"({100 * (s['share_incidents'] or 0):.0f}%) are within {s['radius_m']:g} m of one of "
        f"{s['cameras']} cameras. Cover first:"
    )
    out.table(
        res.priorities.to_dicts(),
        ["rank", "h3", "gain_incidents", "gain_cells", "cumulative_share", "lat", "lon"],
    )
    return 0
