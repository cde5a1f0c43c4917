"""One synthetic city with planted cases, written once per test module into a real Delta home."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """(Lakehouse, Scenario) — a week of reads in a 6x4 camera city with ring porticos."""
    from lakehouse import Lakehouse
    from pipelines.movement.scenario import simulate_city

    home = tmp_path_factory.mktemp("city")
    lh = Lakehouse(home=home)
    scn = simulate_city(seed=3)
    scn.write_to(lh)
    return lh, scn


@pytest.fixture
def ctx():
    from pipelines.governance.context import SearchContext

    return SearchContext(
        user="ana", role="admin", case_number="CASE-7", purpose="series of robberies"
    )  # all agencies
