"""Exit codes of the real console entry: 0 when the work succeeded, every time (no exit 134 from
native thread teardown at interpreter exit), and non-zero still non-zero on failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CAMS = "camera_id,agency,name,lat,lon,kind\nc-001,municipal,Av. Mcal. Lopez,-25.29,-57.60,street\n"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    # jobs.cli's __main__ is the same entry as the installed `pesquisa` script (jobs.cli:run)
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_common_commands_exit_zero_every_time(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    f = tmp_path / "cams.csv"
    f.write_text(CAMS)
    res = _cli("--home", home, "cameras", "import", str(f))
    assert res.returncode == 0, res.stderr
    codes = []
    for _ in range(10):
        res = _cli("--home", home, "--json", "cameras", "list")
        codes.append(res.returncode)
        assert '"camera_id": "c-001"' in res.stdout, res.stderr  # output complete before the exit
    assert codes == [0] * 10, codes
    for args in (["config", "show", "--json"], ["plates", "index", "--status"]):
        res = _cli("--home", home, *args)
        assert res.returncode == 0, (args, res.stderr)


def test_failures_stay_non_zero(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    missing = _cli("--home", home, "cameras", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    usage = _cli("--home", home, "cameras", "frobnicate")
    assert usage.returncode == 2
    assert _cli("--help").returncode == 0
