"""Every benchmark runs end to end in its seconds-long smoke mode (``--smoke``) against today's code,
as ``make bench`` would run it, and changes nothing under benchmarks/results (no RESULTS.md either).

Each runs in its own process from the repository root, with one Ray worker and its own short temp
dir (Ray's socket paths must stay under 108 bytes, too short for pytest's tmp_path), removed after. Slow (real models, Ray, Streamlit AppTest): a few minutes on a loaded 2-core machine."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks.run_all import HERE, benchmark_names

ROOT = HERE.parent


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_every_benchmark_module_is_run_by_make_bench():
    names = benchmark_names()
    assert {"extraction", "search_plates", "search_faces", "crime_analytics", "app_page"} <= set(names)
    for name in names:
        text = (HERE / f"{name}.py").read_text()
        assert '"--smoke"' in text, f"benchmarks/{name}.py has no --smoke mode"


@pytest.mark.slow
@pytest.mark.parametrize("name", benchmark_names())
def test_benchmark_smoke_run(name: str, tmp_path: Path) -> None:
    results = HERE / "results"
    before = _tree_digest(results) if results.is_dir() else {}
    summary = (HERE / "RESULTS.md").read_bytes() if (HERE / "RESULTS.md").exists() else None
    tmp = tempfile.mkdtemp(prefix="pq-smoke-", dir="/tmp" if os.path.isdir("/tmp") else None)
    env = {
        **os.environ,
        "TMPDIR": tmp,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PESQUISA_WORKERS": "1",
        "PESQUISA_RAY_CPUS": "1",
        "PESQUISA_HOME": str(tmp_path / "home"),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}", "--smoke"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert proc.returncode == 0, (
        f"benchmarks.{name} --smoke failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
    assert proc.stdout.strip(), f"benchmarks.{name} --smoke printed no result"
    assert (_tree_digest(results) if results.is_dir() else {}) == before, (
        "a smoke run changed benchmarks/results"
    )
    assert ((HERE / "RESULTS.md").read_bytes() if summary is not None else None) == summary
