"""``pesquisa lineage diff V1 V2 [--camera ID]... [--from T --to T]`` — what a model version changed.

Per source and in total: plate passes added, dropped, re-read (both texts), face sightings added
and dropped, watchlist hits and open cases' search results that would change. The report is stored
in the ``lineage`` table (``--no-store`` to skip); ``lineage list`` shows stored reports.
"""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("lineage", parents=[common], help="what a model version changed (diff two versions)")
    ls = p.add_subparsers(dest="lineage_command", metavar="SUBCOMMAND")
    d = ls.add_parser("diff", parents=[common], help="diff two model versions per source and in total")
    d.add_argument("from_version", metavar="V1", help="old model version")
    d.add_argument("to_version", metavar="V2", help="new model version")
    d.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    d.add_argument(
        "--from", dest="start", metavar="T", help="from T (YYYY-MM-DD or ISO time; home time zone)"
    )
    d.add_argument("--to", dest="end", metavar="T", help="until T (a bare date includes that whole day)")
    d.add_argument("--no-store", action="store_true", help="do not store the report in the lineage table")
    d.add_argument("--user", help="who runs it (or PESQUISA_USER)")
    d.set_defaults(func=run_diff)
    li = ls.add_parser("list", parents=[common], help="stored lineage reports, newest first")
    li.add_argument("--limit", type=int, default=20)
    li.set_defaults(func=run_list)
    p.set_defaults(func=lambda args, out: (p.print_help(), 2)[1])


def run_diff(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from lakehouse.timeutil import TimeRange
    from pipelines.governance import context_from_env
    from pipelines.lineage import diff_versions, store_report

    try:
        span = TimeRange.parse(args.start, args.end)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    lh = Lakehouse(home=args.home)
    try:
        report = diff_versions(
            lh, args.from_version, args.to_version, cameras=args.camera, start=span.start, end=span.end
        )
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    if not report.sources:
        raise CliError(f"no rows of {args.from_version} or {args.to_version} in the selection")
    if not args.no_store:
        try:
            by = context_from_env(user=args.user, home=args.home).user
        except (ValueError, PermissionError) as exc:
            raise CliError(str(exc), code=2) from None
        store_report(lh, report, by=by)
    if out.json_mode:
        out.record(report.as_dict())
        return 0
    for s in report.sources:
        c = s.counts()
        out.info(
            f"{s.camera_id} {s.video_id[:16]}: +{c['passes_added']} -{c['passes_dropped']} passes, "
            f"{c['passes_reread']} re-read, {c['passes_same']} same; faces +{c['faces_added']} "
            f"-{c['faces_dropped']}"
        )
        for r in s.passes_reread:
            out.info(f"    re-read at {r['ts']:%Y-%m-%d %H:%M:%S}: {r['old']} -> {r['new']}")
    for w in report.watchlist:
        out.info(
            f"watchlist {w['entry_id']} ({w['kind']} {w['value'] or ''}): {w['change']} at {w['camera_id']} "
            f"{w['ts']:%Y-%m-%d %H:%M:%S} ({w['old']} -> {w['new']})"
        )
    for case in report.cases:
        out.info(
            f"case {case['case_number']} search {case['pattern']!r}: +{len(case['gained'])} "
            f"-{len(case['lost'])} results"
        )
    t = report.totals()
    out.record(
        {"report_id": report.report_id, **t},
        text=(
            f"{args.from_version} -> {args.to_version}: {t['sources']} sources ({t['sources_changed']} "
            f"changed), passes +{t['passes_added']} -{t['passes_dropped']}, {t['passes_reread']} re-read, "
            f"faces +{t['faces_added']} -{t['faces_dropped']}, {t['watchlist_changes']} watchlist "
            f"changes, {t['case_changes']} open-case searches change (cases from {report.cases_from})"
        ),
    )
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.lineage import lineage_reports

    rows = [
        {
            "report_id": r["report_id"],
            "created_at": r["created_at"],
            "from": r["from_version"],
            "to": r["to_version"],
            "added": r["passes_added"],
            "dropped": r["passes_dropped"],
            "reread": r["passes_reread"],
            "faces_added": r["faces_added"],
            "faces_dropped": r["faces_dropped"],
        }
        for r in lineage_reports(Lakehouse(home=args.home), args.limit)
    ]
    out.table(
        rows,
        [
            "report_id",
            "created_at",
            "from",
            "to",
            "added",
            "dropped",
            "reread",
            "faces_added",
            "faces_dropped",
        ],
    )
    return 0
