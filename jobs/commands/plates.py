"""``pesquisa plates search|route|index`` — forensic plate search (DESIGN.md §7, §9).

Every search needs ``--case`` and ``--purpose`` (or ``PESQUISA_CASE`` / ``PESQUISA_PURPOSE``) and is
audited; the caller is ``--user`` / ``PESQUISA_USER`` (default: the OS user), ``--role`` /
``PESQUISA_ROLE`` (default investigator) and ``--agency`` / ``PESQUISA_AGENCY`` (default: none =
all agencies; with an agency, only its own and shared cameras are searched).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from jobs.output import CliError, Output
from lakehouse.timeutil import FROM_HELP, TO_HELP

HIT_COLUMNS = [
    "match_score",
    "plate",
    "matched_text",
    "ts",
    "camera_id",
    "confidence",
    "source_uri",
    "offset_s",
]
ROUTE_COLUMNS = [
    "step",
    "ts",
    "camera_id",
    "camera_name",
    "plate",
    "travel_s",
    "distance_m",
    "speed_kmh",
    "impossible",
]


# ------------------------------------------------------------------ shared with `faces`
def add_identity_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("case and identity (every search is audited)")
    g.add_argument("--case", help="case number (or PESQUISA_CASE); required")
    g.add_argument("--purpose", help="why this search is made (or PESQUISA_PURPOSE); required")
    g.add_argument("--user", help="must be you (`pesquisa whoami`: login token or users file)")
    g.add_argument("--role", help="narrow to a role with fewer permissions (never widens)")
    g.add_argument("--agency", help="must be your agency (an admin may narrow to one agency)")


#: southern/western coordinates start with '-': let argparse take "-25.3,-57.6,500" as a value
_COORDS = re.compile(r"^-\d+$|^-\d*\.?\d+(,\s*-?\d*\.?\d+)*$")


def add_filter_args(p: argparse.ArgumentParser) -> None:
    p._negative_number_matcher = _COORDS  # noqa: SLF001 (argparse has no public hook for this)
    g = p.add_argument_group("filters")
    g.add_argument("--from", dest="start", metavar="T", help=FROM_HELP)
    g.add_argument("--to", dest="end", metavar="T", help=TO_HELP)
    g.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    g.add_argument(
        "--model-version",
        metavar="V",
        help="read rows of model version V (default: each source's current version)",
    )
    a = g.add_mutually_exclusive_group()
    a.add_argument("--bbox", metavar="MIN_LON,MIN_LAT,MAX_LON,MAX_LAT", help="cameras inside this box")
    a.add_argument("--near", metavar="LAT,LON,METERS", help="cameras within METERS of a point")
    a.add_argument("--h3", nargs="+", action="extend", metavar="CELL", help="cameras inside these H3 cells")
    a.add_argument("--polygon", metavar="FILE.geojson", help="cameras inside this GeoJSON polygon")


def search_context(args: argparse.Namespace):
    from pipelines.governance import context_from_env, require_case
    from pipelines.governance.audit import MissingCaseError

    ctx = None
    try:
        ctx = context_from_env(
            user=args.user,
            role=args.role,
            agency=args.agency,
            case_number=args.case,
            purpose=args.purpose,
            home=args.home,
        )
        require_case(ctx)
    except MissingCaseError as exc:
        if ctx is not None:
            _log_refusal(args, ctx, exc)
        raise CliError(str(exc), code=2) from None
    except (ValueError, PermissionError) as exc:  # IdentityError: unknown caller or a widening flag
        _log_refusal(args, _refused_caller(args), exc)
        raise CliError(str(exc), code=2) from None
    return ctx


def _refused_caller(args: argparse.Namespace) -> Any:
    """Who a search refused for its identity is logged as: the proven identity when there is one
    (a flag or variable tried to widen it), else ``unknown:<OS user>`` with the least role."""
    from lakehouse.config import resolve_home
    from pipelines.governance.context import SearchContext
    from pipelines.governance.identity import current_identity, os_user

    case = (getattr(args, "case", None) or "").strip()
    purpose = (getattr(args, "purpose", None) or "").strip()
    try:
        ident = current_identity(resolve_home(args.home))
        return SearchContext(
            user=ident.user, role=ident.role, agency=ident.agency, case_number=case, purpose=purpose
        )
    except (ValueError, PermissionError, OSError):
        return SearchContext(user=f"unknown:{os_user()}", role="analyst", case_number=case, purpose=purpose)


def _log_refusal(args: argparse.Namespace, ctx: Any, exc: Exception) -> None:
    """A refused search (no case, no purpose, an unknown caller or a widening flag) is still
    logged: an ``audit_log`` row with ``outcome = refused`` and the reason; nothing is read."""
    from lakehouse import Lakehouse
    from lakehouse.config import resolve_home
    from pipelines.governance.audit import audit_refusal

    if not resolve_home(args.home).is_dir():  # no home yet: nothing to search, none is made
        return

    sub = next((str(v) for k, v in sorted(vars(args).items()) if k.endswith(("_command", "_cmd")) and v), "")
    action = ".".join(x for x in (str(getattr(args, "command", "") or ""), sub) if x) or "search"
    audit_refusal(Lakehouse(home=args.home), ctx, action, str(exc))


def area_from_args(args: argparse.Namespace):
    from pipelines.search.area import Area, parse_bbox, parse_near

    try:
        if args.bbox:
            return Area(bbox=parse_bbox(args.bbox))
        if args.near:
            return Area(near=parse_near(args.near))
        if args.h3:
            return Area(h3_cells=tuple(c for x in args.h3 for c in x.split(",") if c))
        if args.polygon:
            return Area.from_geojson_file(args.polygon)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    return None


def read_scope(args: argparse.Namespace):
    """The :class:`ReadScope` of a search command: who (``search_context``), ``--from/--to`` read in
    the home time zone (setting ``time.zone``), ``--model-version`` (default: current versions)."""
    from lakehouse.settings import SettingsError, get_settings
    from pipelines.governance.scope import ReadScope

    ctx = search_context(args)
    try:
        tz = get_settings(args.home).time.zone
        return ReadScope.of(
            ctx, start=args.start, end=args.end, tz=tz, model_version=getattr(args, "model_version", None)
        )
    except (SettingsError, ValueError) as exc:
        raise CliError(str(exc), code=2) from None


# ------------------------------------------------------------------ register
def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("plates", parents=[common], help="search plates, vehicle routes, the plate index")
    ps = p.add_subparsers(dest="plates_command", metavar="ACTION")
    ps.required = True

    s = ps.add_parser(
        "search",
        parents=[common],
        help="every sighting of a plate (wildcards ? *, OCR-fuzzy)",
        description="Exact, wildcard (? one character, * any run) and OCR-confusion fuzzy search "
        "over every read's candidates, ranked by match quality then time.",
    )
    s.add_argument("pattern", help="plate or pattern, e.g. ABC123, AB?12*, *123")
    s.add_argument(
        "--fuzzy",
        type=float,
        default=0,
        metavar="K",
        help="allow weighted edits up to K (OCR confusions like 0/O, 8/B cost 0.4; others 1)",
    )
    s.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N hits (0 = all; default 100)"
    )
    s.add_argument("--strategy", choices=["auto", "index", "scan"], default="auto", help=argparse.SUPPRESS)
    add_filter_args(s)
    add_identity_args(s)
    s.set_defaults(func=run_search)

    r = ps.add_parser(
        "route", parents=[common], help="a vehicle's sightings in order, speeds, impossible hops"
    )
    r.add_argument("plate")
    r.add_argument("--fuzzy", type=float, default=0, metavar="K", help="also OCR-near reads (default exact)")
    r.add_argument(
        "--max-speed",
        type=float,
        default=200.0,
        metavar="KMH",
        help="flag hops faster than this (default 200 km/h)",
    )
    add_filter_args(r)
    add_identity_args(r)
    r.set_defaults(func=run_route)

    from jobs.commands.movement import register_canvass

    register_canvass(ps, common)

    i = ps.add_parser("index", parents=[common], help="build / update the plate search index")
    i.add_argument("--rebuild", action="store_true", help="start over from the table")
    i.add_argument("--status", action="store_true", help="only show the index state")
    i.set_defaults(func=run_index)


# ------------------------------------------------------------------ handlers
def run_search(args: argparse.Namespace, out: Output) -> int:
    if args.limit < 0:
        raise CliError(f"--limit must be 0 (all) or a positive number, got {args.limit}", code=2)
    scope = read_scope(args)
    ctx = scope.ctx
    area = area_from_args(args)
    from lakehouse import Lakehouse
    from pipelines.search.plate_match import PatternError
    from pipelines.search.plates import PlateQuery, search_plates

    lh = Lakehouse(home=args.home)
    try:
        query = PlateQuery(
            args.pattern,
            fuzzy=args.fuzzy,
            cameras=args.camera,
            area=area,
            limit=args.limit,
            strategy=args.strategy,
        )
        res = search_plates(lh, query, scope)
    except PatternError as exc:
        raise CliError(str(exc), code=2) from None
    if args.json:
        out.records(res.hits)
    else:
        out.table(res.hits, HIT_COLUMNS)
    shown = f"{len(res.hits)} of {res.total}" if res.total > len(res.hits) else f"{len(res.hits)}"
    out.info(
        f"{shown} reads match {res.pattern}"
        + (f" (fuzzy {args.fuzzy:g})" if args.fuzzy else "")
        + f" — {res.strategy}, {res.seconds:.2f}s, case {ctx.case_number} (audited)"
    )
    return 0


def run_route(args: argparse.Namespace, out: Output) -> int:
    import math

    if not math.isfinite(args.max_speed) or args.max_speed <= 0:
        raise CliError(f"--max-speed must be a finite number of km/h > 0, got {args.max_speed:g}", code=2)
    scope = read_scope(args)
    ctx = scope.ctx
    area = area_from_args(args)
    from lakehouse import Lakehouse
    from pipelines.plates.text import normalize as normalize_plate
    from pipelines.search.plate_match import PatternError
    from pipelines.search.route import RouteQuery, plate_route

    lh = Lakehouse(home=args.home)
    try:
        query = RouteQuery(
            args.plate, fuzzy=args.fuzzy, cameras=args.camera, area=area, max_speed_kmh=args.max_speed
        )
        route = plate_route(lh, query, scope)
    except PatternError as exc:
        raise CliError(str(exc), code=2) from None
    if args.json:
        out.records(route)
    else:
        out.table(route, ROUTE_COLUMNS)
    bad = sum(1 for s in route if s["impossible"])
    out.info(
        f"{len(route)} sightings of {normalize_plate(args.plate)}"
        + (f"; {bad} impossible hop(s) over {args.max_speed:g} km/h (misread or cloned plate)" if bad else "")
        + f" — case {ctx.case_number} (audited)"
    )
    return 0


def run_index(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.search.plate_index import PlateIndex

    index = PlateIndex(Lakehouse(home=args.home))
    if args.status:
        out.record(index.status())
        return 0
    out.record(index.update(rebuild=args.rebuild))
    return 0
