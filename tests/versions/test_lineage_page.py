"""AppTest: the engineers' lineage page shows a stored report and the versions per camera."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))  # app_testkit

from app_testkit import build_home, signed_in, titles  # noqa: E402

from lakehouse import Lakehouse  # noqa: E402
from pipelines.lineage import diff_versions, store_report  # noqa: E402
from tests.versions.conftest import commit_source  # noqa: E402


@pytest.fixture
def lineage_home(tmp_path, monkeypatch) -> Path:
    home = build_home(tmp_path / "home")
    lh = Lakehouse(home=home)
    commit_source(lh, "vidA", "MUN-A1", "m-v1", [(1.0, "ABC1234"), (5.0, "XYZ9876")], [(2.0, 1)])
    commit_source(lh, "vidA", "MUN-A1", "m-v2", [(1.0, "ABC1234"), (5.0, "XYZ9878")], [])
    store_report(lh, diff_versions(lh, "m-v1", "m-v2"), by="eng")
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(home / "users.yaml"))
    monkeypatch.delenv("PESQUISA_TABLES_URI", raising=False)
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    return home


def test_engineer_sees_lineage_report_investigator_does_not(lineage_home) -> None:
    at = signed_in("eng")
    at.switch_page("pages/lineage.py").run()
    assert not at.exception, at.exception
    assert titles(at) == ["Lineage"]
    m = {x.label: x.value for x in at.metric}
    assert (m["Re-read"], m["Faces dropped"], m["Passes added"]) == ("1", "1", "0")
    frames = [d.value for d in at.dataframe]
    reread = next(f for f in frames if "new" in f.columns)
    assert reread[["old", "new"]].values.tolist() == [["XYZ9876", "XYZ9878"]]
    versions = next(f for f in frames if "current" in f.columns)
    cur = versions.set_index(["camera_id", "model_version"])["current"]
    assert cur[("MUN-A1", "m-v2")] == 1 and cur[("MUN-A1", "m-v1")] == 0
    inv = signed_in("ana")
    with pytest.raises(ValueError):
        inv.switch_page("pages/lineage.py")
