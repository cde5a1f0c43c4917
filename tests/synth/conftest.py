"""A tiny synthetic city shared by the synth tests (generated once per test session)."""

from __future__ import annotations

import pytest

TINY = {"cameras": 3, "minutes": 0.15, "seed": 3, "incidents": 200}


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory):
    from pipelines.synth import generate_city

    out = tmp_path_factory.mktemp("synth") / "city"
    return generate_city(out, progress=False, **TINY)
