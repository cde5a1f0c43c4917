"""``pesquisa movement convoy|stakeout|flows|counts|anomalies`` (+ ``plates canvass`` and
``crime leads``, registered by those groups) — movement-pattern analysis (DESIGN.md §7).

Every command is one library call in :mod:`pipelines.movement`; the ones that name plates need
``--case`` and ``--purpose`` (or ``PESQUISA_CASE`` / ``PESQUISA_PURPOSE``) and are audited; all are
limited to the caller's agency scope (``--agency``) and the current model version (or
``--model-version``). Times as ``plates search``: ``--from`` / ``--to`` in the home time zone.
"""

from __future__ import annotations

import argparse
from typing import Any

from jobs.commands.plates import add_filter_args, add_identity_args, area_from_args, search_context
from jobs.output import CliError, Output
from lakehouse.timeutil import FROM_HELP, TO_HELP


# ------------------------------------------------------------------ shared
def add_time_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group("time")
    g.add_argument("--from", dest="start", metavar="T", required=required, help=FROM_HELP)
    g.add_argument("--to", dest="end", metavar="T", required=required, help=TO_HELP)


def add_version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model-version", metavar="V", help="read this model version (default: each source's current)"
    )


def home_zone(home: Any) -> str:
    from lakehouse.settings import get_settings

    return str(get_settings(home).time.zone)


def read_scope(args: argparse.Namespace, ctx: Any = None, *, need_case: bool = True):
    """The ReadScope of a command: identity (+ case), time in the home zone, version policy."""
    from pipelines.governance import context_from_env
    from pipelines.governance.scope import ReadScope

    if ctx is None:
        if need_case:
            ctx = search_context(args)
        else:
            try:
                ctx = context_from_env(
                    user=args.user,
                    role=args.role,
                    agency=args.agency,
                    case_number=args.case,
                    purpose=args.purpose,
                    home=args.home,
                )
            except (ValueError, PermissionError) as exc:
                raise CliError(str(exc), code=2) from None
    try:
        return ReadScope.of(
            ctx,
            start=getattr(args, "start", None),
            end=getattr(args, "end", None),
            tz=home_zone(args.home),
            model_version=getattr(args, "model_version", None),
        )
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


def _lakehouse(args: argparse.Namespace):
    from lakehouse import Lakehouse

    return Lakehouse(home=args.home)


def _call(fn, *a, **kw):
    """Library ValueErrors (bad input) -> exit code 2 with the message."""
    try:
        return fn(*a, **kw)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


def parse_duration(text: str) -> float:
    """``90``, ``60s``, ``15m``, ``2h``, ``1d`` -> seconds."""
    t = str(text).strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if t and t[-1] in mult:
            v = float(t[:-1]) * mult[t[-1]]
        else:
            v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60s, 15m, 2h)") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive: {text!r}")
    return v


# ------------------------------------------------------------------ register
def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("movement", parents=[common], help="convoys, stakeouts, ring flows, counts, anomalies")
    ms = p.add_subparsers(dest="movement_command", metavar="ACTION")
    ms.required = True

    c = ms.add_parser(
        "convoy", parents=[common], help="vehicles travelling with a plate, ranked against background"
    )
    c.add_argument("plate")
    c.add_argument("--window", type=parse_duration, default=60.0, metavar="DT", help="±Δt (default 60s)")
    c.add_argument(
        "--min-cameras", type=int, default=3, metavar="K", help="distinct cameras together (default 3)"
    )
    c.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (0 = all)")
    c.add_argument(
        "--max-target-reads",
        type=int,
        default=None,
        metavar="N",
        help="a target with more reads in the window (a bus, a taxi) is searched over its N most recent "
        "ones: the window then starts at the N-th most recent read (default 2000; 0 = no cap)",
    )
    add_time_args(c)
    add_version_arg(c)
    add_identity_args(c)
    c.set_defaults(func=run_convoy)

    pr = ms.add_parser(
        "presence",
        parents=[common],
        help="(re)build the plate presence index the convoy lookups use",
        description="Rebuild the days of the plate_presence table whose plate_reads files changed (or "
        "--day D, repeatable). Results never depend on it: a day not rebuilt is read from plate_reads.",
    )
    pr.add_argument("--day", action="append", metavar="YYYY-MM-DD", help="rebuild this UTC day (repeatable)")
    pr.set_defaults(func=run_presence)

    s = ms.add_parser("stakeout", parents=[common], help="vehicles present in several place x time windows")
    s.add_argument(
        "--at",
        action="append",
        required=True,
        metavar="PLACE@FROM..TO",
        help="CAM[,CAM]@FROM..TO, near:LAT,LON,M@FROM..TO or bbox:W,S,E,N@FROM..TO (repeat)",
    )
    s.add_argument(
        "--min", type=int, default=2, metavar="N", help="present in at least N windows (default 2)"
    )
    s.add_argument(
        "--baseline-days",
        type=int,
        default=14,
        metavar="D",
        help="days around the windows for the rarity baseline (default 14)",
    )
    s.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (0 = all)")
    add_version_arg(s)
    add_identity_args(s)
    s.set_defaults(func=run_stakeout)

    f = ms.add_parser("flows", parents=[common], help="ring entries/exits, OD per hour, time inside")
    f.add_argument(
        "--plates", action="store_true", help="list vehicles that entered and did not leave (needs a case)"
    )
    add_time_args(f)
    add_version_arg(f)
    add_identity_args(f)
    f.set_defaults(func=run_flows)

    n = ms.add_parser("counts", parents=[common], help="reads and distinct plates per camera and hour")
    n.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    n.add_argument("--bucket", type=parse_duration, default=3600.0, metavar="DT", help="bucket (default 1h)")
    add_time_args(n)
    add_version_arg(n)
    add_identity_args(n)
    n.set_defaults(func=run_counts)

    a = ms.add_parser("anomalies", parents=[common], help="circling, repeated night visits, cloned plates")
    a.add_argument(
        "--kind",
        action="append",
        choices=["circling", "night_visits", "clone"],
        help="only this kind (repeatable; default all)",
    )
    a.add_argument("--max-speed", type=float, default=200.0, metavar="KMH", help="clone speed (default 200)")
    add_time_args(a)
    add_version_arg(a)
    add_identity_args(a)
    a.set_defaults(func=run_anomalies)


def register_canvass(ps: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``plates canvass`` (called by :mod:`jobs.commands.plates`)."""
    c = ps.add_parser(
        "canvass",
        parents=[common],
        help="who passed here: every plate at cameras / in an area",
        description="Distinct plates read at --camera(s) or in an area (--near/--bbox/--h3/--polygon) "
        "between --from and --to, with first/last time and reads. Needs a case; audited.",
    )
    c.add_argument("--limit", type=int, default=0, metavar="N", help="at most N plates (0 = all)")
    add_filter_args(c)  # includes --model-version
    add_identity_args(c)
    c.set_defaults(func=run_canvass)


def register_leads(cs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``crime leads`` (called by :mod:`jobs.commands.crime`)."""
    c = cs.add_parser(
        "leads",
        parents=[common],
        help="vehicles and faces seen near several incidents of a series",
        description="Pick a series by --incident IDs or by --type with --from/--to; vehicles read "
        "and people (faces, grouped by descriptor distance) seen within --radius and ±--window of at "
        "least --min incidents, rarest first. Audited. With --json, face leads follow the vehicles "
        'as records with "kind": "face".',
    )
    c.add_argument("--incident", action="append", metavar="ID", help="incident id (repeatable)")
    c.add_argument("--type", dest="incident_type", metavar="TYPE", help="incident type (with --from/--to)")
    c.add_argument(
        "--radius", type=float, default=500.0, metavar="M", help="metres around each incident (500)"
    )
    c.add_argument("--window", type=parse_duration, default=1800.0, metavar="DT", help="± time (default 30m)")
    c.add_argument("--min", type=int, default=2, metavar="K", help="near at least K incidents (default 2)")
    c.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (0 = all)")
    c.add_argument("--no-faces", dest="faces", action="store_false", help="vehicles only")
    add_time_args(c, required=False)
    add_version_arg(c)
    add_identity_args(c)
    c.set_defaults(func=run_leads)


# ------------------------------------------------------------------ handlers
def _show(out: Output, args: argparse.Namespace, rows: list[dict[str, Any]], columns: list[str]) -> None:
    if args.json:
        out.records(rows)
    else:
        out.table(rows, columns)


def _lim(n: int) -> int | None:
    return None if n is None or n <= 0 else n


def run_canvass(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    area = area_from_args(args)
    if not args.camera and area is None:
        raise CliError(
            "a canvass needs --camera ID (repeatable) or an area (--near, --bbox, --h3, --polygon)", 2
        )
    if scope.time.start is None or scope.time.end is None:
        raise CliError("a canvass needs --from and --to", 2)
    from pipelines.movement.canvass import COLUMNS, canvass

    res = _call(canvass, _lakehouse(args), scope, cameras=args.camera, area=area, limit=_lim(args.limit))
    _show(out, args, res.rows, COLUMNS)
    out.info(
        f"{res.total} plates in {res.reads} reads — {res.seconds:.2f}s, case {scope.case_number} (audited)"
    )
    return 0


def run_convoy(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    from pipelines.movement.convoy import COLUMNS, convoy

    res = _call(
        convoy,
        _lakehouse(args),
        scope,
        args.plate,
        window_s=args.window,
        min_cameras=args.min_cameras,
        limit=_lim(args.limit),
        **({} if args.max_target_reads is None else {"max_target_reads": args.max_target_reads}),
    )
    _show(out, args, res.rows, COLUMNS)
    if res.narrowed_from is not None:
        out.info(
            f"{res.target} has {res.target_reads_in_window} reads in the window: searched its "
            f"{res.target_reads} most recent, from {res.narrowed_from.isoformat()} "
            "(narrow --from/--to for another span, or --max-target-reads 0)"
        )
    out.info(
        f"{len(res.rows)} vehicle(s) with {res.target} at >= {args.min_cameras} cameras within ±{args.window:g}s "
        f"({res.target_reads} reads of the target) — {res.seconds:.2f}s, case {scope.case_number} (audited)"
    )
    return 0


def run_presence(args: argparse.Namespace, out: Output) -> int:
    import datetime as dt

    from pipelines.movement.presence import build_presence

    try:
        days = [dt.date.fromisoformat(d) for d in args.day] if args.day else None
    except ValueError as exc:
        raise CliError(f"--day needs YYYY-MM-DD: {exc}", code=2) from None
    res = build_presence(_lakehouse(args), days)
    if args.json:
        out.record(res)
    else:
        for day, n in sorted(res["days"].items()):
            out.info(f"{day}: {n} plate x camera rows")
        out.info(f"{len(res['days'])} day(s) rebuilt in {res['seconds']:.2f}s")
    return 0


def run_stakeout(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    from pipelines.movement.stakeout import COLUMNS, PlaceWindow, stakeout

    zone = home_zone(args.home)
    windows = [_call(PlaceWindow.parse, w, tz=zone) for w in args.at]
    res = _call(
        stakeout,
        _lakehouse(args),
        scope,
        windows,
        min_windows=args.min,
        baseline_days=args.baseline_days,
        limit=_lim(args.limit),
    )
    _show(out, args, res.rows, COLUMNS)
    out.info(
        f"{len(res.rows)} vehicle(s) in >= {args.min} of {len(windows)} windows — {res.seconds:.2f}s, "
        f"case {scope.case_number} (audited)"
    )
    return 0


def run_flows(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args, need_case=args.plates)
    from pipelines.movement.traffic import OD_COLUMNS, ring_flows

    res = _call(ring_flows, _lakehouse(args), scope, include_plates=args.plates)
    if args.json:
        out.record(
            {
                "entries": res.entries,
                "exits": res.exits,
                "trips": res.trips,
                "stayed": res.stayed,
                "inside_s": res.inside_s,
                "per_portico": res.per_portico,
                "od": res.od,
                "stayed_plates": res.stayed_plates,
            }
        )
        return 0
    out.table(res.od, OD_COLUMNS)
    if res.stayed_plates:
        out.table(res.stayed_plates, ["plate", "entered_at", "portico"])
    out.info(
        f"{res.entries} entries, {res.exits} exits, {res.trips} trips inside (median "
        f"{res.inside_s['median'] or 0:.0f}s), {res.stayed} entered and did not leave — {res.seconds:.2f}s"
    )
    return 0


def run_counts(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args, need_case=False)
    from pipelines.movement.traffic import COUNT_COLUMNS, camera_counts

    table = _call(camera_counts, _lakehouse(args), scope, cameras=args.camera, bucket_s=int(args.bucket))
    rows = table.to_pylist()
    _show(out, args, rows, COUNT_COLUMNS)
    out.info(f"{len(rows)} camera x bucket rows")
    return 0


def run_anomalies(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    from pipelines.movement.anomalies import COLUMNS, KINDS, AnomalyParams, anomalies

    res = _call(
        anomalies,
        _lakehouse(args),
        scope,
        kinds=tuple(args.kind or KINDS),
        params=AnomalyParams(max_speed_kmh=args.max_speed),
        tz=home_zone(args.home),
    )
    _show(out, args, res.rows, COLUMNS)
    counts = ", ".join(f"{k} {v}" for k, v in res.counts.items())
    out.info(f"{len(res.rows)} anomalies ({counts}) — {res.seconds:.2f}s, case {scope.case_number} (audited)")
    return 0


def run_leads(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    if not args.incident and not args.incident_type:
        raise CliError("pick the series: --incident ID (repeatable), or --type with --from and --to", 2)
    from pipelines.movement.leads import COLUMNS, FACE_COLUMNS, crime_leads

    res = _call(
        crime_leads,
        _lakehouse(args),
        scope,
        incident_ids=args.incident,
        incident_type=args.incident_type,
        radius_m=args.radius,
        window_s=args.window,
        min_incidents=args.min,
        limit=_lim(args.limit),
        faces=args.faces,
    )
    _show(out, args, res.rows, COLUMNS)
    if args.faces:
        if args.json:
            out.records(
                {"kind": "face", **{k: v for k, v in r.items() if k != "sighting_ids"}} for r in res.faces
            )
        else:
            out.info("people (faces):")
            out.table(res.faces, FACE_COLUMNS)
    people = f" and {len(res.faces)} face(s)" if args.faces else ""
    out.info(
        f"{len(res.rows)} vehicle(s){people} near >= {args.min} of {len(res.incidents)} incidents — "
        f"{res.seconds:.2f}s, case {scope.case_number} (audited)"
    )
    return 0
