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
    "jobs.commands.stream",
    "jobs.commands.plates",
    "jobs.commands.faces",
    "jobs.commands.incidents",
    "jobs.commands.crime",
    "jobs.commands.movement",
    "jobs.commands.app",
    "jobs.commands.maintain",
    "jobs.commands.backfill",
    "jobs.commands.login",
    "jobs.commands.share",
    "jobs.commands.cases",
    "jobs.commands.hold",
    "jobs.commands.export",
    "jobs.commands.audit",
    "jobs.commands.versions",
    "jobs.commands.lineage",
    "jobs.commands.dagster",
    "jobs.commands.watchlist",
    "jobs.commands.alerts",
    "jobs.commands.config",
    "jobs.commands.models",
]


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand.

    The copy attached to subcommands uses SUPPRESS defaults so it never overwrites a value given
    before the subcommand."""
    p = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--home", default=default, help="working directory (default $PESQUISA_HOME, else ./data)")
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print JSON lines on stdout (logs and progress go to stderr)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more logging on stderr",
    )
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
        importlib.import_module(mod_name).register(sub, common)  # a missing module is a bug: fail loudly
    return parser


#: integer options that count things: negative is always a mistake (0 keeps its "all" meaning)
COUNT_OPTIONS = ("limit", "top", "k", "permutations")


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse NaN/infinite numbers and negative counts once, for every command (they crashed or were
    silently read as "all" before)."""
    import math

    for key, value in vars(args).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, float) and not math.isfinite(value):
            raise CliError(f"{flag} must be a finite number, got {value}", code=2)
        if key in COUNT_OPTIONS and isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise CliError(f"{flag} must be 0 or more, got {value}", code=2)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None) or not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "long_running", False):  # before delta-rs / Polars load (their allocator)
        from pipelines.memory import tune_native_allocators

        tune_native_allocators()
    if args.home is None:
        from lakehouse.config import resolve_home

        args.home = str(resolve_home(None))
    level = logging.WARNING - 10 * min(int(args.verbose or 0), 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    out = Output(json_mode=bool(args.json))
    try:
        check_numbers(args)
        rc = args.func(args, out)
    except CliError as exc:
        out.error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    return int(rc or 0)


def run(argv: list[str] | None = None) -> None:
    """The ``pesquisa`` console entry: :func:`main`, then exit with its code without running the
    interpreter's teardown.

    Arrow and delta-rs keep native thread pools whose teardown at interpreter exit can abort the
    process ("terminate called without an active exception", exit 134) after the command's work
    and output are complete (delta-rs #2184, polars #24169). The command has finished by then: its
    output is flushed and its exit code is final, so we leave with ``os._exit``. A failure keeps its
    non-zero code; an exception that escapes :func:`main` still prints its traceback and exits 1.

    Files the command creates are owner-only (umask 077): a home holds biometric data, and the app,
    Dagster and stream runners started from here inherit the same mask."""
    os.umask(0o077)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code
        rc = code if isinstance(code, int) else (0 if code is None else 1)
        if not isinstance(code, int) and code is not None:
            print(code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    _flush()
    os._exit(rc)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed pipe (e.g. `| head`)
            pass


if __name__ == "__main__":
    run()
