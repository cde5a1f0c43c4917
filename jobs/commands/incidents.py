"""``pesquisa incidents import FILE`` (CSV/GeoJSON from open-data portals) and ``incidents summary``."""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("incidents", parents=[common], help="import and inspect incident reports")
    isub = p.add_subparsers(dest="incidents_cmd", metavar="ACTION", required=True)
    imp = isub.add_parser(
        "import",
        parents=[common],
        help="import a CSV or GeoJSON of incidents (Socrata/Chicago and common layouts recognised)",
        description="Columns are recognised by name (id, date, primary_type, latitude, longitude, ... and "
        "Spanish names such as fecha, delito, latitud); name them explicitly when they are not. Rows "
        "without usable coordinates or time are counted and reported, never written. Re-importing a file "
        "adds nothing (MERGE on incident_id).",
    )
    imp.add_argument("file")
    imp.add_argument("--lat-col", help="latitude column")
    imp.add_argument("--lon-col", help="longitude column")
    imp.add_argument("--time-col", help="date/time column (DATE+TIME joins two columns)")
    imp.add_argument("--end-col", help="end of the time window, when only a window is known")
    imp.add_argument("--type-col", help="incident type column")
    imp.add_argument("--id-col", help="source id column (default: recognised, else a hash of the row)")
    imp.add_argument("--desc-col", help="description column")
    imp.add_argument(
        "--tz",
        help="time zone of times without offset (IANA name; default UTC, "
        "or the portal's zone for a recognised city layout)",
    )
    imp.add_argument("--time-format", help="strftime format of the time column, when it is not recognised")
    imp.add_argument("--agency", help="reporting agency (also prefixes the ids)")
    imp.add_argument("--id-prefix", help="prefix for incident ids, to keep two portals' ids apart")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="replace every row previously imported from this file name (one commit)",
    )
    imp.add_argument("--dry-run", action="store_true", help="read and validate only; write nothing")
    imp.set_defaults(func=run_import)
    summ = isub.add_parser("summary", parents=[common], help="incidents per type, with the time span")
    summ.set_defaults(func=run_summary)


def run_import(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.crime.importer import IncidentImportError, import_incidents

    try:
        rep = import_incidents(
            Lakehouse(home=args.home),
            args.file,
            lat_col=args.lat_col,
            lon_col=args.lon_col,
            time_col=args.time_col,
            end_col=args.end_col,
            type_col=args.type_col,
            id_col=args.id_col,
            desc_col=args.desc_col,
            tz=args.tz,
            time_format=args.time_format,
            agency=args.agency,
            id_prefix=args.id_prefix,
            mode="replace" if args.replace else "merge",
            dry_run=args.dry_run,
        )
    except IncidentImportError as exc:
        raise CliError(str(exc)) from None
    text = ("(dry run) " if args.dry_run else "") + rep.summary()
    if rep.notes:
        text += "\n  note: " + "\n  note: ".join(rep.notes)
    out.record(rep.as_dict(), text=text)
    return 0


def run_summary(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse

    lh = Lakehouse(home=args.home)
    lh.ensure("incidents")
    con = lh.duckdb(["incidents"])
    rows = con.execute(
        "SELECT coalesce(type, '(none)') AS type, count(*) AS incidents, min(ts) AS first, max(ts) AS last "
        "FROM incidents GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    out.table(
        [{"type": t, "incidents": n, "first": a, "last": b} for t, n, a, b in rows],
        ["type", "incidents", "first", "last"],
    )
    return 0
