"""Fixtures shared by every test package. Tests use real tables in tmp dirs, real models, and the
real data in ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def lakehouse(tmp_path: Path):
    """An empty Lakehouse in a temporary directory."""
    from lakehouse import Lakehouse

    return Lakehouse(home=tmp_path / "home")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test when it is absent."""
    from pipelines.shared_data import shared_data_dir

    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not present (set PESQUISA_SHARED_DATA to its location)")
    return root


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray cluster for the whole test session (each ray.init costs ~3 s and ~750 MB)."""
    from pipelines.ray_runtime import ensure_ray

    ensure_ray()
    yield
    import ray

    ray.shutdown()


@pytest.fixture(scope="session")
def cli_user():
    """``cli_user(home, role="admin", agency=None, name="tester")`` maps the OS user running the tests
    (root in CI) to a Pesquisa user in ``HOME/users.yaml``, as identity requires (issue 12.1)."""
    from pipelines.governance.identity import map_os_user

    def make(home, role: str = "admin", agency: str | None = None, name: str = "tester"):
        return map_os_user(home, name, role=role, agency=agency)

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``CI=true`` a test marked ``component`` (it needs a real program: ffmpeg, PostgreSQL,
    an S3 server, a second raylet) that skipped FAILS: CI must prove the component, not skip it."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and os.environ.get("CI", "").lower() == "true" and item.get_closest_marker("component"):
        reason = rep.longrepr[-1] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"needs a real component but skipped under CI=true: {reason}"


#: test folders whose session fixtures are costly (a city extracted with the real models, a stream
#: clip, a cut of the shared data): under pytest-xdist each folder runs whole on one worker, so its
#: fixtures are built once; every other test file is its own group
WHOLE_FOLDERS = frozenset({"extract", "live", "synth", "crime", "faces", "video", "search"})
#: groups that take minutes: scheduled first so the two workers finish together (longest first)
HEAVY_FIRST = (
    "scaleout/test_ray_cluster.py",
    "extract",
    "benchmarks/test_smoke.py",
    "live",
    "search",
    "governance/test_export.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the groups into node ids
def pytest_collection_modifyitems(config, items):
    """In a pytest-xdist worker (``make test`` runs ``-n 2 --dist loadgroup``): one ``xdist_group``
    per folder in :data:`WHOLE_FOLDERS`, else per file, heaviest groups first."""
    if not hasattr(config, "workerinput"):
        return
    tests_dir = Path(__file__).resolve().parent
    groups = {}
    for item in items:
        rel = Path(str(item.path)).resolve().relative_to(tests_dir)
        group = rel.parts[0] if rel.parts[0] in WHOLE_FOLDERS else rel.as_posix()
        groups[item.nodeid] = group
        item.add_marker(pytest.mark.xdist_group(group))

    def rank(item) -> int:
        g = groups[item.nodeid]
        return HEAVY_FIRST.index(g) if g in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: collection order within a group and among the rest
