"""``pesquisa alerts list [--since T] [--unacknowledged]`` and ``pesquisa alerts ack ID``.

Each agency sees the alerts routed to it (``--agency`` / ``PESQUISA_AGENCY``; none = every alert)
and acknowledges them for itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, cast

from jobs.output import CliError, Output

COLUMNS = [
    "alert_id",
    "ts",
    "priority",
    "kind",
    "value",
    "camera_id",
    "score",
    "latency_s",
    "agency",
    "recipients",
    "acknowledged",
]


def _identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="who (or PESQUISA_USER; default the OS user)")
    p.add_argument("--role", help="your role (or PESQUISA_ROLE)")
    p.add_argument("--agency", help="your agency (or PESQUISA_AGENCY); none = all agencies")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alerts", parents=[common], help="watchlist alerts: list, acknowledge")
    s = p.add_subparsers(dest="alerts_cmd", metavar="ACTION", required=True)
    ls = s.add_parser("list", parents=[common], help="alerts routed to your agency, newest first")
    ls.add_argument(
        "--since", metavar="T", help="only alerts from this time (ISO, date, or a duration: 1h, 2d)"
    )
    ls.add_argument(
        "--unacknowledged", action="store_true", help="only alerts your agency has not acknowledged"
    )
    ls.add_argument(
        "--limit", type=int, default=200, metavar="N", help="at most N alerts (0 = all; default 200)"
    )
    _identity(ls)
    ls.set_defaults(func=run_list)
    ack = s.add_parser("ack", parents=[common], help="acknowledge an alert for your agency")
    ack.add_argument("alert_id", metavar="ID")
    ack.add_argument("--note", default="", help="optional note")
    _identity(ack)
    ack.set_defaults(func=run_ack)


def _ctx(args: argparse.Namespace):
    from pipelines.governance import context_from_env

    try:
        return context_from_env(user=args.user, role=args.role, agency=args.agency, home=args.home)
    except (ValueError, PermissionError) as exc:
        raise CliError(str(exc), code=2) from None


def run_list(args: argparse.Namespace, out: Output) -> int:
    import datetime as dt

    from lakehouse import Lakehouse
    from pipelines.watchlist.feed import list_alerts
    from pipelines.watchlist.manage import parse_duration

    since = None
    if args.since:
        try:
            if (d := parse_duration(args.since)) is not None:
                since = dt.datetime.now(dt.UTC) - d
            else:
                from lakehouse.timeutil import parse_instant

                since = parse_instant(args.since)
        except ValueError as exc:
            raise CliError(f"--since: {exc}", code=2) from None
    from pipelines.governance.scope import ReadScope

    scope = ReadScope.of(_ctx(args), start=since)
    rows = list_alerts(
        Lakehouse(home=args.home), scope, limit=args.limit or None, unacknowledged=args.unacknowledged
    )
    out.table(cast("list[Mapping[str, Any]]", rows), None if args.json else COLUMNS)
    return 0


def run_ack(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.watchlist.entries import WatchlistError
    from pipelines.watchlist.feed import acknowledge

    ctx = _ctx(args)
    try:
        row = acknowledge(Lakehouse(home=args.home), ctx, args.alert_id, agency=args.agency, note=args.note)
    except WatchlistError as exc:
        raise CliError(str(exc), code=2) from None
    out.record(
        {k: row.get(k) for k in ("alert_id", "entry_id", "kind", "value", "camera_id", "ts", "acks")},
        text=f"acknowledged {row['alert_id']} ({row['value']} at {row['camera_id']}) for "
        f"{', '.join(a for a in row['acks'])}",
    )
    return 0
