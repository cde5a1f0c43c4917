"""``pesquisa config show [--json]`` — the effective settings of a home, with where each value came
from (``default``, the settings file, or an environment variable); secrets are redacted.

Settings live in :mod:`lakehouse.settings` (file ``HOME/pesquisa.yaml`` plus environment overrides).
"""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output

COLUMNS = ["key", "value", "source"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[common], help="effective settings and where each came from")
    csub = p.add_subparsers(dest="config_cmd", metavar="ACTION", required=True)
    show = csub.add_parser("show", parents=[common], help="every setting: value, source, description")
    show.add_argument("--section", help="only this section (storage, time, compute, search, app, ...)")
    show.set_defaults(func=run_show)


def run_show(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.settings import SettingsError, load_settings

    try:
        loaded = load_settings(args.home)
    except SettingsError as exc:
        raise CliError(str(exc), code=2) from None
    rows = loaded.show()
    if args.section:
        sections = sorted({r["key"].split(".", 1)[0] for r in rows})
        if args.section not in sections:
            raise CliError(f"unknown section {args.section!r}; one of {', '.join(sections)}", code=2)
        rows = [r for r in rows if r["key"].startswith(args.section + ".")]
    if args.json:
        out.records(rows)
    else:
        out.table([{**r, "value": _text(r["value"])} for r in rows], COLUMNS)
        out.info(
            f"home {loaded.home}; file {loaded.home / 'pesquisa.yaml'}"
            + ("" if (loaded.home / "pesquisa.yaml").exists() else " (absent: defaults and environment)")
        )
    return 0


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    return str(value)
