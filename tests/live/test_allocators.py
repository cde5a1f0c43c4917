"""The live driver's native allocators: delta-rs' and Polars' jemalloc are tuned before they load
(their retained pages grew the stream driver by ~4 MB/min, benchmarks/results/live-soak.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.memory import LIVE_JEMALLOC_CONF

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tuned_before_the_libraries_load_and_never_after() -> None:
    res = _python(
        "import os\n"
        "from pipelines.memory import LIVE_JEMALLOC_CONF, tune_native_allocators as tune\n"
        "assert tune() is True\n"
        "assert os.environ['_RJEM_MALLOC_CONF'] == LIVE_JEMALLOC_CONF\n"
        "del os.environ['_RJEM_MALLOC_CONF']\n"
        "import polars\n"
        "assert tune() is False, 'polars is loaded: too late'\n"
        "assert LIVE_JEMALLOC_CONF not in os.environ.get('_RJEM_MALLOC_CONF', '')\n"
        "print('ok')\n"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_an_operators_own_setting_is_kept() -> None:
    res = _python(
        "import os\nfrom pipelines.memory import tune_native_allocators as tune\n"
        "assert tune() is False\nprint(os.environ['_RJEM_MALLOC_CONF'])\n",
        env={"_RJEM_MALLOC_CONF": "narenas:2"},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "narenas:2"


def test_both_jemallocs_accept_the_setting(tmp_path: Path) -> None:
    """jemalloc warns on stderr about any setting it does not know ("<jemalloc>: Invalid conf ..."):
    a MERGE through delta-rs and a Polars query run clean with it (and with a bad one, it warns)."""
    code = (
        "import polars as pl, pyarrow as pa\n"
        "from deltalake import DeltaTable, write_deltalake\n"
        f"uri = {str(tmp_path / 't')!r}\n"
        "write_deltalake(uri, pa.table({'k': [1, 2], 'v': ['a', 'b']}))\n"
        "(DeltaTable(uri).merge(pa.table({'k': [2, 3], 'v': ['B', 'c']}), predicate='t.k = s.k',"
        " source_alias='s', target_alias='t').when_matched_update_all().when_not_matched_insert_all().execute())\n"
        "print(pl.from_arrow(DeltaTable(uri).to_pyarrow_table()).sort('k')['v'].to_list())\n"
    )
    good = _python(code, env={"_RJEM_MALLOC_CONF": LIVE_JEMALLOC_CONF})
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "['a', 'B', 'c']"
    assert "<jemalloc>" not in good.stderr, good.stderr
    bad = _python(code, env={"_RJEM_MALLOC_CONF": "no_such_option:1"})
    assert "<jemalloc>" in bad.stderr, "jemalloc did not read _RJEM_MALLOC_CONF: the test proves nothing"


def test_stream_run_tunes_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pipelines.memory as memory
    from jobs.cli import main

    called: list[bool] = []
    monkeypatch.setattr(memory, "tune_native_allocators", lambda: called.append(True) or True)
    rc = main(["stream", "run", "--home", str(tmp_path / "home"), "--duration", "1"])
    assert rc != 0  # an empty home has no live camera: refused with a message
    assert called == [True]
    called.clear()
    main(["stream", "status", "--home", str(tmp_path / "home")])
    assert called == []  # short commands keep jemalloc's defaults
