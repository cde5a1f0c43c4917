"""Smoke mode shared by every benchmark: ``python -m benchmarks.<name> --smoke``.

A smoke run takes seconds, on tiny inputs, and checks that the benchmark still runs end to end
against today's code (tests/benchmarks/test_smoke.py runs them all). Its numbers mean nothing: it
writes its data and its report to a fresh temporary folder, never to ``benchmarks/results`` or
``benchmarks/out``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

HELP = "seconds-long run on tiny inputs to check the benchmark works (report and data go to a temp dir)"


def smoke_dir(name: str) -> Path:
    """A fresh temporary folder for one smoke run's data and report."""
    return Path(tempfile.mkdtemp(prefix=f"pesquisa-smoke-{name}-"))
