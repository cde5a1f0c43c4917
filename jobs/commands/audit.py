"""``pesquisa audit verify|list|replay`` — the tamper-evident audit log (issue 12.3–12.4).

``verify`` recomputes the hash chain and checks the signed daily anchors, reporting the first
broken link (exit 1 when the log was tampered with). ``replay CASE`` re-runs a case's logged
searches with the same parameters against the same table versions (Delta time travel).
"""

from __future__ import annotations

import argparse

from jobs.commands.login import cli_context
from jobs.output import CliError, Output

LIST_COLUMNS = [
    "seq",
    "ts",
    "user",
    "os_user",
    "agency",
    "case_number",
    "action",
    "outcome",
    "result_count",
    "reason",
]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("audit", parents=[common], help="verify, list and replay the audit log")
    ps = p.add_subparsers(dest="audit_cmd", metavar="ACTION", required=True)
    v = ps.add_parser("verify", parents=[common], help="check the hash chain and the signed anchors")
    v.set_defaults(func=run_verify)
    ls = ps.add_parser("list", parents=[common], help="audit rows, newest first")
    ls.add_argument("--case", help="only this case")
    ls.add_argument("--limit", type=int, default=50, help="at most N rows (default 50; 0 = all)")
    ls.set_defaults(func=run_list)
    r = ps.add_parser("replay", parents=[common], help="re-run a case's searches as they were")
    r.add_argument("case")
    r.set_defaults(func=run_replay)


def _auditor(args: argparse.Namespace):
    from pipelines.governance.identity import PermissionDenied, require_permission

    ctx = cli_context(args)
    try:
        require_permission(ctx.role, "audit", user=ctx.user)
    except PermissionDenied as exc:
        raise CliError(str(exc), code=3) from None
    return ctx


def run_verify(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.audit_chain import verify_chain

    rep = verify_chain(Lakehouse(home=args.home))
    if rep.ok:
        text = f"audit log intact: {rep.chained} chained rows ({rep.legacy} sealed legacy rows), {rep.anchors} anchors"
    else:
        text = f"AUDIT LOG TAMPERED: {(rep.first_broken or {}).get('problem')}" + (
            f"\n  and {len(rep.problems) - 1} more problem(s)" if len(rep.problems) > 1 else ""
        )
    out.record(rep.as_dict(), text=text)
    return 0 if rep.ok else 1


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.audit import audit_rows

    ctx = _auditor(args)
    if args.limit < 0:
        raise CliError("--limit must be 0 (all) or more", code=2)
    rows = audit_rows(Lakehouse(home=args.home), case_number=args.case)
    if not ctx.sees_all_agencies:
        rows = [r for r in rows if r.get("agency") == ctx.agency]
    out.table(rows[: args.limit or None], LIST_COLUMNS)
    return 0


def run_replay(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.replay import replay_case

    ctx = _auditor(args)
    try:
        results = replay_case(Lakehouse(home=args.home), ctx, args.case)
    except (LookupError, PermissionError) as exc:
        raise CliError(str(exc), code=2) from None
    for r in results:
        out.record(
            r,
            text=(
                f"#{r['seq']} {r['action']} {r['ts']}: {r['status']} — logged {r['logged_count']}, "
                f"replayed {r['replayed_count']}"
                + (f", erased since {r['erased']}" if r.get("erased") else "")
                + (f" ({r['note']})" if r.get("note") else "")
            ),
        )
    if not results:
        out.info(f"case {args.case} has no logged searches")
    return 0
