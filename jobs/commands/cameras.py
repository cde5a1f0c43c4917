"""``pesquisa cameras import FILE`` and ``pesquisa cameras list``."""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("cameras", parents=[common], help="camera registry")
    csub = p.add_subparsers(dest="cameras_cmd", metavar="ACTION", required=True)
    imp = csub.add_parser("import", parents=[common], help="import a CSV or GeoJSON camera registry")
    imp.add_argument("file")
    imp.set_defaults(func=run_import)
    ls = csub.add_parser("list", parents=[common], help="list registered cameras")
    ls.add_argument("--agency")
    ls.set_defaults(func=run_list)


def run_import(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.cameras import CameraFileError, import_cameras

    try:
        res = import_cameras(Lakehouse(home=args.home), args.file)
    except CameraFileError as exc:
        raise CliError(str(exc)) from None
    out.record(
        {"file": res.path, "cameras": res.cameras, "agencies": res.agencies},
        text=f"imported {res.cameras} cameras from {res.path} ({', '.join(f'{a}: {n}' for a, n in res.agencies.items())})",
    )
    return 0


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse

    rows = (
        Lakehouse(home=args.home)
        .read("cameras", columns=["camera_id", "agency", "kind", "name", "lat", "lon"])
        .to_pylist()
    )
    if args.agency:
        rows = [r for r in rows if r["agency"] == args.agency]
    out.table(sorted(rows, key=lambda r: r["camera_id"]))
    return 0
