"""The CLI contract of DESIGN.md §9: --home/--json before or after the subcommand, JSON lines on
stdout, one-line errors, fast start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from jobs.cli import main

CAMS = """camera_id,agency,name,lat,lon,kind,heading,shared_with
c-001,municipal,Av. Mcal. Lopez,-25.29,-57.60,street,90,police911
c-002,police911,Acceso Sur,-25.35,-57.62,portico,,
"""


def test_home_and_json_before_or_after_the_subcommand(tmp_path: Path, capsys) -> None:
    f = tmp_path / "cams.csv"
    f.write_text(CAMS)
    home = tmp_path / "h"
    assert main(["--home", str(home), "--json", "cameras", "import", str(f)]) == 0
    first = json.loads(capsys.readouterr().out.strip())
    assert first["cameras"] == 2 and first["agencies"] == {"municipal": 1, "police911": 1}
    assert main(["cameras", "list", "--home", str(home), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["camera_id"] for r in rows] == ["c-001", "c-002"]
    # re-import is an upsert: still 2 cameras
    assert main(["cameras", "import", str(f), "--home", str(home)]) == 0
    assert "imported 2 cameras" in capsys.readouterr().out
    assert main(["--home", str(home), "cameras", "list", "--json"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_bad_camera_file_gives_one_line_error_and_writes_nothing(tmp_path: Path, capsys) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("camera_id,agency,lat,lon\nc1,municipal,-25.3,-57.6\nc2,municipal,north,-57.6\n")
    home = tmp_path / "h"
    assert main(["--home", str(home), "cameras", "import", str(f)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 3" in err[0] and "lat" in err[0]
    assert main(["--home", str(home), "--json", "cameras", "list"]) == 0
    assert capsys.readouterr().out.strip() == ""


def test_cli_starts_fast_without_heavy_imports() -> None:
    code = (
        "import sys, time; t=time.time(); from jobs.cli import build_parser; build_parser();"
        "heavy=[m for m in ('torch','ray','dagster','apache_beam','streamlit','cv2','deltalake') if m in sys.modules];"
        "print(heavy); print(time.time()-t)"
    )
    t = time.time()
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert res.returncode == 0, res.stderr
    heavy, secs = res.stdout.strip().splitlines()
    assert heavy == "[]", f"CLI start imports heavy modules: {heavy}"
    assert time.time() - t < 20
