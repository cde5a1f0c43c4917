"""Fixtures for the crime analytics tests: synthetic incidents with planted patterns, and a
Lakehouse holding the real Chicago sample."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crime_testkit import BBOX, START  # noqa: E402

from pipelines.synth.incidents import SyntheticIncidents, generate_incidents  # noqa: E402


@pytest.fixture(scope="module")
def planted() -> SyntheticIncidents:
    """20,000 incidents: 5 planted hot spots (40%), near repeats (10%), uniform background."""
    return generate_incidents(20_000, BBOX, seed=11, start=START)


@pytest.fixture(scope="session")
def chicago_csv(shared_data: Path) -> Path:
    p = shared_data / "crime" / "chicago_sample" / "crimes_sample.csv"
    if not p.exists():
        pytest.skip(f"{p} is missing")
    return p


@pytest.fixture(scope="session")
def chicago_home(tmp_path_factory, chicago_csv: Path):
    """A Lakehouse with the Chicago sample imported (shared read-only by the tests)."""
    from lakehouse import Lakehouse
    from pipelines.crime.importer import import_incidents

    lh = Lakehouse(home=tmp_path_factory.mktemp("chicago") / "home")
    import_incidents(lh, chicago_csv)
    return lh
