"""``pesquisa versions list|set`` — which model version of each source readers see.

``versions list`` shows, per camera and model version, how many sources have a succeeded run and
how many of them are current. ``versions set --model-version V [--camera ID]... [--from T --to T]``
switches the selected recorded sources that have a succeeded run of ``V`` to ``V`` in one commit
(rollback or roll forward); it is audited (``--case`` defaults to ``operations``, ``--reason`` is
the purpose). Live segments are never switched by a camera selection.
"""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "versions", parents=[common], help="current model version per source: list, set (rollback)"
    )
    vs = p.add_subparsers(dest="versions_command", metavar="SUBCOMMAND")

    ls = vs.add_parser(
        "list", parents=[common], help="model versions per camera and how many sources are current"
    )
    ls.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    ls.add_argument("--sources", action="store_true", help="one line per source (its current version)")
    ls.set_defaults(func=run_list)

    st = vs.add_parser("set", parents=[common], help="make a model version current (rollback), audited")
    st.add_argument("--model-version", required=True, help="the version to make current")
    st.add_argument("--camera", action="append", metavar="ID", help="only this camera's sources (repeatable)")
    st.add_argument("--source", action="append", metavar="VIDEO_ID", help="exactly this source (repeatable)")
    st.add_argument(
        "--from",
        dest="start",
        metavar="T",
        help="sources starting at or after T (YYYY-MM-DD or ISO time; home time zone)",
    )
    st.add_argument("--to", dest="end", metavar="T", help="until T (a bare date includes that whole day)")
    st.add_argument("--reason", default="rollback", help="why (stored with the switch and in the audit log)")
    st.add_argument("--case", default="operations", help="case number for the audit log (default operations)")
    st.add_argument("--user", help="who (or PESQUISA_USER; default the OS user)")
    st.add_argument("--dry-run", action="store_true", help="show what would switch, switch nothing")
    st.set_defaults(func=run_set)
    p.set_defaults(func=lambda args, out: (p.print_help(), 2)[1])


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.versions import current_versions, switch_history, version_summary

    lh = Lakehouse(home=args.home)
    if args.sources:
        cur = current_versions(lh)
        hist = {r["video_id"]: r for r in switch_history(lh, args.camera)}
        rows = [
            {
                "video_id": vid,
                "camera_id": hist.get(vid, {}).get("camera_id"),
                "model_version": v,
                "switched_at": hist.get(vid, {}).get("switched_at"),
                "switched_by": hist.get(vid, {}).get("switched_by"),
            }
            for vid, v in sorted(cur.items())
            if not args.camera or hist.get(vid, {}).get("camera_id") in set(args.camera)
        ]
        out.table(rows, ["video_id", "camera_id", "model_version", "switched_at", "switched_by"])
        return 0
    rows = version_summary(lh, args.camera)
    out.table(rows, ["camera_id", "model_version", "sources", "current", "last_run"])
    return 0


def run_set(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from lakehouse.timeutil import TimeRange
    from pipelines.governance import context_from_env
    from pipelines.versions import set_version

    try:
        span = TimeRange.parse(args.start, args.end)
        ctx = context_from_env(user=args.user, case_number=args.case, purpose=args.reason, home=args.home)
    except (ValueError, PermissionError) as exc:  # IdentityError: unknown caller or a widening flag
        from jobs.commands.plates import _log_refusal, _refused_caller

        if isinstance(exc, PermissionError):
            _log_refusal(args, _refused_caller(args), exc)
        raise CliError(str(exc), code=2) from None
    lh = Lakehouse(home=args.home)
    try:
        plan = set_version(
            lh,
            args.model_version,
            cameras=args.camera,
            start=span.start,
            end=span.end,
            video_ids=args.source,
            by=ctx.user,
            reason=args.reason,
            dry_run=args.dry_run,
            ctx=ctx,
        )
    except PermissionError as exc:  # a role that may not operate ingestion: refused and logged
        raise CliError(str(exc), code=3) from None
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    for s in plan.switched:
        out.info(
            f"{'would switch' if args.dry_run else 'switched'} {s['video_id'][:16]} ({s['camera_id']}): "
            f"{s['from']} -> {plan.model_version}"
        )
    for s in plan.missing:
        out.info(
            f"kept {s['video_id'][:16]} ({s['camera_id']}) at {s['current']}: no succeeded run of "
            f"{plan.model_version}"
        )
    summary = {**plan.as_dict(), "dry_run": bool(args.dry_run)}
    out.record(
        summary,
        text=(
            f"{summary['switched']} source(s) {'would switch' if args.dry_run else 'switched'} "
            f"to {plan.model_version}; {summary['unchanged']} already there; "
            f"{summary['without_version']} without that version"
        ),
    )
    if not plan.switched and not plan.unchanged:
        return 1
    return 0
