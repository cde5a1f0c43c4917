"""``pesquisa hold add|list|release`` — legal holds (issue 12.5): held reads, sightings or a camera's
data in a time range survive ``maintain retention`` until released. Adding and releasing are audited."""

from __future__ import annotations

import argparse

from jobs.commands.login import cli_context
from jobs.output import CliError, Output

COLUMNS = [
    "hold_id",
    "case_number",
    "camera_id",
    "time_from",
    "time_to",
    "read_ids",
    "sighting_ids",
    "created_by",
    "created_at",
    "released_at",
]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from lakehouse.timeutil import FROM_HELP, TO_HELP

    p = sub.add_parser("hold", parents=[common], help="legal holds: keep data past retention")
    ps = p.add_subparsers(dest="hold_cmd", metavar="ACTION", required=True)
    a = ps.add_parser(
        "add", parents=[common], help="hold reads, sightings or a camera's data in a time range"
    )
    a.add_argument("--case", required=True, help="case the hold belongs to")
    a.add_argument("--reads", nargs="+", action="extend", metavar="READ_ID", help="plate reads to keep")
    a.add_argument(
        "--sightings", nargs="+", action="extend", metavar="SIGHTING_ID", help="face sightings to keep"
    )
    a.add_argument("--camera", help="keep this camera's data in --from/--to")
    a.add_argument("--from", dest="start", metavar="T", help=FROM_HELP)
    a.add_argument("--to", dest="end", metavar="T", help=TO_HELP)
    a.add_argument("--reason", help="why (goes into the audit log)")
    a.set_defaults(func=run_add)
    ls = ps.add_parser("list", parents=[common], help="holds, newest first")
    ls.add_argument("--active", action="store_true", help="only holds not yet released")
    ls.set_defaults(func=run_list)
    r = ps.add_parser("release", parents=[common], help="release a hold (supervisor or admin)")
    r.add_argument("hold_id")
    r.set_defaults(func=run_release)


def run_add(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from lakehouse.timeutil import TimeRange
    from pipelines.governance.holds import HoldError, add_hold
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args, case=args.case)
    try:
        tr = TimeRange.parse(args.start, args.end) if (args.start or args.end) else None
        if tr is not None and (tr.start is None or tr.end is None):
            raise HoldError("a camera hold needs both --from and --to")
        row = add_hold(
            Lakehouse(home=args.home),
            ctx,
            args.case,
            read_ids=args.reads,
            sighting_ids=args.sightings,
            camera_id=args.camera,
            time_from=tr.start if tr else None,
            time_to=tr.end if tr else None,
            reason=args.reason,
        )
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except (HoldError, ValueError) as exc:
        raise CliError(str(exc), code=2) from None
    out.record(row, text=f"hold {row['hold_id']} placed under case {row['case_number']}")
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.holds import list_holds

    rows = list_holds(Lakehouse(home=args.home), active_only=args.active)
    out.table([{k: r.get(k) for k in COLUMNS} for r in rows], COLUMNS)
    return 0


def run_release(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.holds import HoldError, release_hold
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args)
    try:
        row = release_hold(Lakehouse(home=args.home), ctx, args.hold_id)
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except HoldError as exc:
        raise CliError(str(exc), code=2) from None
    out.record(row, text=f"hold {row['hold_id']} released")
    return 0
