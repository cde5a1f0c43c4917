"""``pesquisa cases open|close|list`` — cases and their warrant scope (issue 12.3).

A case may carry a warrant scope: an area, a time range, target plates, target faces (probe photos)
and an expiry. Searches under it outside that scope are refused and the refusal logged; closing the
case stops its searches.
"""

from __future__ import annotations

import argparse

from jobs.commands.login import cli_context
from jobs.output import CliError, Output

COLUMNS = [
    "case_number",
    "status",
    "agency",
    "opened_by",
    "opened_at",
    "purpose",
    "time_from",
    "time_to",
    "target_plates",
    "expires_at",
]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from jobs.commands.plates import _COORDS

    p = sub.add_parser("cases", parents=[common], help="open, close and list cases (warrant scope)")
    ps = p.add_subparsers(dest="cases_cmd", metavar="ACTION", required=True)
    o = ps.add_parser("open", parents=[common], help="open a case, optionally limited by a warrant")
    o._negative_number_matcher = _COORDS  # noqa: SLF001 (coordinates start with '-')
    o.add_argument("case", help="case number")
    o.add_argument("--purpose", required=True, help="why the case exists (goes into the audit log)")
    w = o.add_argument_group("warrant scope (each optional)")
    a = w.add_mutually_exclusive_group()
    a.add_argument("--bbox", metavar="MIN_LON,MIN_LAT,MAX_LON,MAX_LAT", help="only cameras inside this box")
    a.add_argument("--near", metavar="LAT,LON,METERS", help="only cameras within METERS of a point")
    a.add_argument(
        "--h3", nargs="+", action="extend", metavar="CELL", help="only cameras inside these H3 cells"
    )
    a.add_argument("--polygon", metavar="FILE.geojson", help="only cameras inside this polygon")
    w.add_argument("--from", dest="start", metavar="T", help="only data from this time")
    w.add_argument("--to", dest="end", metavar="T", help="only data until this time (a bare date: that day)")
    w.add_argument("--plate", action="append", metavar="PLATE", help="only this plate (repeatable)")
    w.add_argument(
        "--face",
        action="append",
        metavar="PHOTO",
        help="only this probe photo (repeatable; kept with the case)",
    )
    w.add_argument("--expires", metavar="T", help="no search after this time")
    o.set_defaults(func=run_open)
    c = ps.add_parser("close", parents=[common], help="close a case: its searches stop")
    c.add_argument("case")
    c.set_defaults(func=run_close)
    ls = ps.add_parser("list", parents=[common], help="cases of your agency (all for an admin)")
    ls.add_argument("--status", choices=["open", "closed"])
    ls.set_defaults(func=run_list)


def run_open(args: argparse.Namespace, out: Output) -> int:
    from jobs.commands.plates import area_from_args
    from lakehouse import Lakehouse
    from lakehouse.timeutil import TimeRange, parse_instant
    from pipelines.governance.cases import CaseError, open_case
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args, case=args.case, purpose=args.purpose)
    area = area_from_args(args)
    try:
        tr = TimeRange.parse(args.start, args.end)
        expires = parse_instant(args.expires) if args.expires else None
        row = open_case(
            Lakehouse(home=args.home),
            ctx,
            args.case,
            args.purpose,
            area=area,
            time_from=tr.start,
            time_to=tr.end,
            plates=args.plate,
            faces=args.face,
            expires_at=expires,
        )
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except (CaseError, ValueError, OSError) as exc:
        raise CliError(str(exc), code=2) from None
    out.record(row, text=f"opened case {row['case_number']} for {row['agency'] or 'all agencies'}")
    return 0


def run_close(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.cases import CaseError, close_case
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args)
    try:
        row = close_case(Lakehouse(home=args.home), ctx, args.case)
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except CaseError as exc:
        raise CliError(str(exc), code=2) from None
    out.record(row, text=f"closed case {row['case_number']}")
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.cases import list_cases

    ctx = cli_context(args)
    out.table(list_cases(Lakehouse(home=args.home), ctx, status=args.status), COLUMNS)
    return 0
