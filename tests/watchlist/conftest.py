"""Fixtures for the watchlist tests (data helpers in watch_testkit.py): a home with two agencies'
cameras, and supervisors of both agencies with a case."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # watch_testkit

from watch_testkit import CAMERAS  # noqa: E402


@pytest.fixture
def home(lakehouse):
    lakehouse.append("cameras", CAMERAS)
    return lakehouse


@pytest.fixture
def police():
    from pipelines.governance import SearchContext

    return SearchContext(
        user="sara", role="supervisor", agency="police911", case_number="C-2026-7", purpose="stolen vehicle"
    )


@pytest.fixture
def municipal():
    from pipelines.governance import SearchContext

    return SearchContext(
        user="mario", role="supervisor", agency="municipal", case_number="M-11", purpose="stolen vehicle"
    )
