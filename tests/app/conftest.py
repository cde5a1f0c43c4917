"""Fixtures for the app tests; the data and AppTest helpers live in app_testkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # app_testkit
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # benchmarks.app_page (the 1M-row page test)

from app_testkit import build_home  # noqa: E402


@pytest.fixture(scope="module")
def app_home(tmp_path_factory) -> Path:
    return build_home(tmp_path_factory.mktemp("apphome"))


@pytest.fixture
def app_env(app_home: Path, monkeypatch) -> Path:
    """Point the in-process app (AppTest) at the test home."""
    monkeypatch.setenv("PESQUISA_HOME", str(app_home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(app_home / "users.yaml"))
    monkeypatch.delenv("PESQUISA_TABLES_URI", raising=False)
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    return app_home
