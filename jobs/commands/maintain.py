"""``pesquisa maintain compact|vacuum|retention|checkpoint``.

``retention`` erases: rows past each data type's retention (settings section ``retention``) are
deleted and every copy purged — change data, older versions' files, old log commits (column
statistics), search index entries, derived files (``lakehouse.maintenance.retention``)."""

from __future__ import annotations

import argparse

from jobs.output import Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("maintain", parents=[common], help="compact, checkpoint, vacuum, enforce retention")
    p.add_argument("action", choices=["compact", "checkpoint", "vacuum", "retention"])
    p.add_argument(
        "--table",
        action="append",
        help="limit to these tables (repeatable; retention: 'derived' for HOME/derived files)",
    )
    p.add_argument(
        "--retention-hours", type=int, default=168, help="vacuum: keep unreferenced files this long"
    )
    p.add_argument("--dry-run", action="store_true", help="vacuum: only list files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse, maintenance

    lh = Lakehouse(home=args.home)
    if args.action == "compact":
        results = maintenance.compact(lh, args.table)
    elif args.action == "checkpoint":
        results = maintenance.checkpoint(lh, args.table)
    elif args.action == "vacuum":
        results = maintenance.vacuum(lh, args.table, args.retention_hours, args.dry_run)
    else:
        results = maintenance.retention(lh, names=args.table)
    for r in results:
        out.record(r.as_dict())
    return 0
