"""``pesquisa share add|list|revoke`` — sharing agreements between agencies (issue 12.2).

Agency A shares data types (plates, faces, video, alerts) of some cameras (or all) with agency B
from one time to another. Administrators only; every change is audited. Agreements are the one
source of cross-agency visibility on every read path.
"""

from __future__ import annotations

import argparse

from jobs.commands.login import cli_context
from jobs.output import CliError, Output

COLUMNS = [
    "agreement_id",
    "from_agency",
    "to_agency",
    "data_types",
    "cameras",
    "valid_from",
    "valid_to",
    "created_by",
    "revoked_at",
]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("share", parents=[common], help="sharing agreements between agencies (admins)")
    ps = p.add_subparsers(dest="share_cmd", metavar="ACTION", required=True)
    a = ps.add_parser("add", parents=[common], help="agency FROM shares data types with agency TO")
    a.add_argument(
        "--from", dest="from_agency", required=True, metavar="AGENCY", help="agency whose data is shared"
    )
    a.add_argument("--to", dest="to_agency", required=True, metavar="AGENCY", help="agency that may read it")
    a.add_argument(
        "--types", default="plates", metavar="T[,T]", help="plates,faces,video,alerts (default plates)"
    )
    a.add_argument(
        "--camera", action="append", metavar="ID", help="only this camera (repeatable; default all)"
    )
    a.add_argument("--valid-from", metavar="T", help="in force from (ISO time/date; default now)")
    a.add_argument("--valid-to", metavar="T", help="in force until (a bare date includes that day)")
    a.add_argument("--note", default="", help="reference to the written agreement")
    a.set_defaults(func=run_add)
    ls = ps.add_parser("list", parents=[common], help="every agreement, revoked ones included")
    ls.set_defaults(func=run_list)
    r = ps.add_parser("revoke", parents=[common], help="revoke an agreement from now on")
    r.add_argument("agreement_id")
    r.set_defaults(func=run_revoke)


def run_add(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from lakehouse.timeutil import TimeRange
    from pipelines.governance.agreements import AgreementError, add_agreement
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args)
    try:
        tr = TimeRange.parse(args.valid_from, args.valid_to)
        row = add_agreement(
            Lakehouse(home=args.home),
            ctx,
            from_agency=args.from_agency,
            to_agency=args.to_agency,
            data_types=args.types.split(","),
            cameras=args.camera,
            valid_from=tr.start,
            valid_to=tr.end,
            note=args.note,
        )
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except (AgreementError, ValueError) as exc:
        raise CliError(str(exc), code=2) from None
    out.record(
        row,
        text=f"agreement {row['agreement_id']}: {row['from_agency']} shares "
        f"{','.join(row['data_types'])} of {','.join(row['cameras'] or ['all cameras'])} "
        f"with {row['to_agency']}",
    )
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.agreements import all_agreements
    from pipelines.governance.identity import PermissionDenied, require_permission

    ctx = cli_context(args)
    lh = Lakehouse(home=args.home)
    rows = all_agreements(lh)
    try:
        require_permission(ctx.role, "administer", user=ctx.user)
    except PermissionDenied:  # others see the agreements that concern their agency
        rows = [r for r in rows if ctx.agency in (r["from_agency"], r["to_agency"])]
    out.table(rows, COLUMNS)
    return 0


def run_revoke(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.agreements import AgreementError, revoke_agreement
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args)
    try:
        row = revoke_agreement(Lakehouse(home=args.home), ctx, args.agreement_id)
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    except AgreementError as exc:
        raise CliError(str(exc), code=2) from None
    out.record(row, text=f"revoked {row['agreement_id']} at {row['revoked_at']}")
    return 0
