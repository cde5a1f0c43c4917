"""``pesquisa watchlist add plate PATTERN | add face PHOTO... | list | remove ID | import CSV``.

Adding, removing and importing need ``--case`` and ``--purpose`` (or ``PESQUISA_CASE`` /
``PESQUISA_PURPOSE``) and an editing role (supervisor, investigator, admin), and are audited. The
entry belongs to the caller's agency (``--agency`` / ``PESQUISA_AGENCY``). Adding reports hygiene
warnings (on stderr) and the entry's historical hits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, cast

from jobs.commands.plates import add_identity_args, search_context
from jobs.output import CliError, Output

ENTRY_COLUMNS = [
    "entry_id",
    "kind",
    "value",
    "fuzzy",
    "photos",
    "priority",
    "agency",
    "covert",
    "case_number",
    "expires_at",
    "status",
    "reason",
]
PLATE_HIT_COLUMNS = ["ts", "camera_id", "plate", "matched_text", "match_score"]
FACE_HIT_COLUMNS = ["ts", "camera_id", "sighting_id", "distance", "score"]


def _entry_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", required=True, help="why it is watched (stolen vehicle, arrest warrant ...)")
    p.add_argument("--priority", type=int, default=3, help="1 (highest) .. 5 (default 3)")
    p.add_argument(
        "--expires", metavar="WHEN", help="duration (12h, 30d, 2w) or date / ISO time; default never"
    )
    p.add_argument("--covert", action="store_true", help="hits are seen only by the owning agency")
    p.add_argument("--no-history", action="store_true", help="do not match the entry over past reads")
    add_identity_args(p)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("watchlist", parents=[common], help="plates and faces that raise alerts when seen")
    ws = p.add_subparsers(dest="watchlist_cmd", metavar="ACTION", required=True)

    add = ws.add_parser("add", parents=[common], help="watch for a plate or a face")
    kinds = add.add_subparsers(dest="kind", metavar="KIND", required=True)
    pl = kinds.add_parser("plate", parents=[common], help="a plate: exact, wildcard (? *) or OCR-tolerant")
    pl.add_argument("pattern", help="plate or pattern, e.g. ABC1234, AB?12*, *1234")
    pl.add_argument(
        "--fuzzy",
        type=float,
        default=0.0,
        metavar="K",
        help="OCR-weighted edits allowed (0/O, 8/B ... cost 0.4; others 1); default 0 = exact",
    )
    _entry_args(pl)
    pl.set_defaults(func=run_add)
    fa = kinds.add_parser("face", parents=[common], help="a person, enrolled from one or more photos")
    fa.add_argument("photos", nargs="+", metavar="PHOTO")
    fa.add_argument("--label", help="name shown on alerts (default: the photo names)")
    fa.add_argument(
        "--max-distance",
        type=float,
        metavar="L2",
        help="L2 distance at or under which a face hits (default: watchlist.face_max_distance)",
    )
    _entry_args(fa)
    fa.set_defaults(func=run_add)

    ls = ws.add_parser("list", parents=[common], help="entries you may see (covert: own agency only)")
    ls.add_argument("--all", action="store_true", help="also removed entries")
    ls.add_argument("--user", help=argparse.SUPPRESS)
    ls.add_argument("--role", help="your role (or PESQUISA_ROLE)")
    ls.add_argument("--agency", help="your agency (or PESQUISA_AGENCY); none = all agencies")
    ls.set_defaults(func=run_list)

    rm = ws.add_parser("remove", parents=[common], help="stop an entry alarming (kept for past alerts)")
    rm.add_argument("entry_id", metavar="ID")
    add_identity_args(rm)
    rm.set_defaults(func=run_remove)

    im = ws.add_parser(
        "import",
        parents=[common],
        help="entries from a CSV (all rows or none)",
        description="CSV header: kind,value,reason[,priority,expires,covert,fuzzy,photos,"
        "max_distance]; photos are ';'-separated paths relative to the CSV.",
    )
    im.add_argument("csv", metavar="CSV")
    im.add_argument("--no-history", action="store_true", help="do not match the entries over past reads")
    add_identity_args(im)
    im.set_defaults(func=run_import)


def _editor_ctx(args: argparse.Namespace):
    ctx = search_context(args)
    from pipelines.watchlist.entries import check_editor

    try:
        check_editor(ctx)
    except PermissionError as exc:
        raise CliError(str(exc), code=3) from None
    return ctx


def _report(out: Output, res: Any, json_mode: bool) -> None:
    verb = "added" if res.created else "updated"
    e = res.entry
    for w in res.warnings:
        print(f"warning: {e['value']}: {w}", file=sys.stderr)
    if json_mode:
        out.record(
            {
                **e,
                "created": res.created,
                "warnings": res.warnings,
                "historical_hits": len(res.historical),
                "historical": res.historical,
            }
        )
        return
    expires = e["expires_at"].isoformat(timespec="seconds") if e.get("expires_at") else "never"
    out.record(
        {},
        text=f"{verb} {e['kind']} entry {e['entry_id']} {e['value']} (priority {e['priority']}, "
        f"{e['agency']}{', covert' if e['covert'] else ''}, expires {expires}, case {e['case_number']})",
    )
    if res.historical:
        out.info(f"{len(res.historical)} historical hit(s):")
        out.table(res.historical, PLATE_HIT_COLUMNS if e["kind"] == "plate" else FACE_HIT_COLUMNS)
    else:
        out.info("no historical hits")


def _errors():
    from pipelines.watchlist.entries import WatchlistError

    return WatchlistError


def run_add(args: argparse.Namespace, out: Output) -> int:
    ctx = _editor_ctx(args)
    from lakehouse import Lakehouse
    from pipelines.watchlist import manage

    lh = Lakehouse(home=args.home)
    try:
        if args.kind == "plate":
            res = manage.add_plate(
                lh,
                ctx,
                args.pattern,
                reason=args.reason,
                priority=args.priority,
                expires=args.expires,
                covert=args.covert,
                fuzzy=args.fuzzy,
                historical=not args.no_history,
            )
        else:
            res = manage.add_face(
                lh,
                ctx,
                args.photos,
                reason=args.reason,
                priority=args.priority,
                expires=args.expires,
                covert=args.covert,
                max_distance=args.max_distance,
                label=args.label,
                historical=not args.no_history,
            )
    except _errors() as exc:
        raise CliError(str(exc), code=2) from None
    except PermissionError as exc:
        raise CliError(str(exc), code=3) from None
    _report(out, res, bool(args.json))
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance import context_from_env
    from pipelines.watchlist.entries import list_entries

    try:
        ctx = context_from_env(user=args.user, role=args.role, agency=args.agency, home=args.home)
    except (ValueError, PermissionError) as exc:
        raise CliError(str(exc), code=2) from None
    rows = list_entries(Lakehouse(home=args.home), ctx, include_removed=args.all)
    out.table(cast("list[Mapping[str, Any]]", rows), None if args.json else ENTRY_COLUMNS)
    return 0


def run_remove(args: argparse.Namespace, out: Output) -> int:
    ctx = _editor_ctx(args)
    from lakehouse import Lakehouse
    from pipelines.watchlist.manage import remove_entry

    try:
        row = remove_entry(Lakehouse(home=args.home), ctx, args.entry_id)
    except _errors() as exc:
        raise CliError(str(exc), code=2) from None
    except PermissionError as exc:
        raise CliError(str(exc), code=3) from None
    out.record(
        row, text=f"removed {row['kind']} entry {row['entry_id']} {row['value']} (case {ctx.case_number})"
    )
    return 0


def run_import(args: argparse.Namespace, out: Output) -> int:
    ctx = _editor_ctx(args)
    from lakehouse import Lakehouse
    from pipelines.watchlist.manage import import_csv

    try:
        results = import_csv(Lakehouse(home=args.home), ctx, args.csv, historical=not args.no_history)
    except _errors() as exc:
        raise CliError(str(exc), code=2) from None
    except PermissionError as exc:
        raise CliError(str(exc), code=3) from None
    for res in results:
        _report(out, res, bool(args.json))
    if not args.json:
        out.info(f"imported {len(results)} entries ({sum(r.created for r in results)} new) from {args.csv}")
    return 0
