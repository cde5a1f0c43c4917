"""A home holds biometric data: what Pesquisa creates in it is owner-only (issue 12.5)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _open_to_others(home: Path) -> list[str]:
    out = []
    for p in [home, *home.rglob("*")]:
        mode = p.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            out.append(f"{oct(mode & 0o777)} {p.relative_to(home.parent)}")
    return out


def test_cli_creates_an_owner_only_home(tmp_path: Path) -> None:
    cams = tmp_path / "cameras.csv"
    cams.write_text("camera_id,agency,name,lat,lon\nCAM-1,municipal,Gate,-25.3,-57.6\n")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jobs.cli import run; run()",
            "--home",
            str(home),
            "cameras",
            "import",
            str(cams),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert (home / "tables" / "cameras" / "_delta_log").is_dir()
    assert _open_to_others(home) == []


def test_library_creates_owner_only_table_folders(tmp_path: Path) -> None:
    from lakehouse import Lakehouse

    old = os.umask(0o022)  # a permissive caller (a notebook) still gets private folders
    try:
        lh = Lakehouse(home=tmp_path / "lib-home")
        lh.ensure("cameras")
    finally:
        os.umask(old)
    for d in (
        tmp_path / "lib-home",
        tmp_path / "lib-home" / "tables",
        tmp_path / "lib-home" / "tables" / "cameras",
    ):
        assert d.stat().st_mode & 0o077 == 0, (d, oct(d.stat().st_mode))
