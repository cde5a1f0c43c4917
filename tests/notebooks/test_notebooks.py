"""The analyst notebooks run top to bottom on generated data (jupytext percent scripts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(nb: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PESQUISA_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, str(nb)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert "incidents:" in out and "hot cells of" in out
    n_hot = int(out.split(" hot cells of")[0].rsplit("\n", 1)[-1])
    assert n_hot > 0  # the synthetic district has planted hot spots
