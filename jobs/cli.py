"""``pesquisa`` command line (DESIGN.md §9).

Every command takes ``--home DIR`` and ``--json``, before or after the subcommand. Each command
group lives in its own module under :mod:`jobs.commands` and exposes ``register(subparsers,
common)``; heavy libraries are imported inside the handlers so ``pesquisa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from jobs.output import CliError, Output

#: command modules, in help order; each defines ``register(subparsers, common)``
COMMAND_MODULES = [
    "jobs.commands.demo",
    "jobs.commands.synth",
    "jobs.commands.cameras",
    "jobs.commands.ingest",
    "jobs.commands.plates",
    "jobs.commands.faces",
    "jobs.commands.incidents",
    "jobs.commands.crime",
    "jobs.commands.movement",
    "jobs.commands.app",
    "jobs.commands.maintain",
    "jobs.commands.backfill",
    "jobs.commands.versions",
    "jobs.commands.lineage",
    "jobs.commands.watchlist",
    "jobs.commands.alerts",
]


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand.

    The copy attached to subcommands uses SUPPRESS defaults so it never overwrites a value given
    before the subcommand."""
    p = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--home", default=default, help="working directory (default $PESQUISA_HOME, else ./data)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="print JSON lines on stdout (logs and progress go to stderr)")
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                   help="more logging on stderr")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pesquisa",
        description="Forensic video analytics lakehouse for city camera networks.",
        parents=[_common_parser(suppress=False)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_parser(suppress=True)
    for mod_name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue  # command group not built yet
            raise
        mod.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None) or not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    if args.home is None:
        args.home = os.environ.get("PESQUISA_HOME", "./data")
    level = logging.WARNING - 10 * min(int(args.verbose or 0), 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    out = Output(json_mode=bool(args.json))
    try:
        rc = args.func(args, out)
    except CliError as exc:
        out.error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
