"""``pesquisa dagster`` — start ``dagster dev`` on 127.0.0.1 with this project's code location.

The instance lives in ``HOME/dagster`` (``DAGSTER_HOME``: runs, schedules and sensor state survive
restarts); the camera registry's groups are added as ``camera_groups`` partitions first, so
day x camera-group backfills can be launched from the UI right away. ``--port 0`` (the default)
picks a free port; the URL is printed. ``--check`` loads the definitions and syncs the groups
without starting the server. ``make dagster`` runs this.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "dagster", parents=[common], help="start dagster dev (127.0.0.1) with this project loaded"
    )
    p.add_argument("--port", type=int, default=0, help="web UI port (0: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument(
        "--check", action="store_true", help="load the definitions and sync camera groups, start nothing"
    )
    p.set_defaults(func=run)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def prepare(home: str | os.PathLike[str]) -> tuple[Path, list[str], dict[str, str]]:
    """DAGSTER_HOME under the home, environment for the code location, and the groups added."""
    from lakehouse import Lakehouse
    from lakehouse.config import resolve_home

    home_path = resolve_home(home)
    dagster_home = home_path / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    env = {"DAGSTER_HOME": str(dagster_home), "PESQUISA_HOME": str(home_path)}
    os.environ.update(env)
    import dagster as dg

    from dagster_project.defs.partitions import sync_camera_groups

    with dg.DagsterInstance.get() as instance:
        added = sync_camera_groups(instance, Lakehouse(home=home_path))
    return dagster_home, added, env


def run(args: argparse.Namespace, out: Output) -> int:
    try:
        dagster_home, added, env = prepare(args.home)
        from dagster_project.definitions import defs

        repo = defs.get_repository_def()
    except Exception as exc:
        raise CliError(f"the Dagster code location does not load: {type(exc).__name__}: {exc}") from exc
    assets = len(repo.asset_graph.get_all_asset_keys())
    if args.check:
        out.record(
            {"dagster_home": str(dagster_home), "assets": assets, "camera_groups_added": added},
            text=f"definitions load ({assets} assets); DAGSTER_HOME={dagster_home}; groups added: {added}",
        )
        return 0
    port = args.port or free_port(args.host)
    out.info(f"Dagster UI: http://{args.host}:{port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops)")
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "dagster_project.definitions",
        "-h",
        args.host,
        "-p",
        str(port),
    ]
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    try:
        return subprocess.call(cmd, env={**os.environ, **env, "PYTHONPATH": path}, cwd=root)
    except KeyboardInterrupt:
        return 130
