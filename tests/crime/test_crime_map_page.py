"""The crime map page renders on the real Chicago sample (Streamlit AppTest), with every layer."""

from __future__ import annotations

from pathlib import Path

import h3
import pytest
from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).resolve().parents[2] / "app" / "pages" / "crime_map.py"


@pytest.fixture
def page_home(chicago_home, monkeypatch) -> Path:
    chicago_home.ensure("cameras")
    if chicago_home.count("cameras") == 0:
        chicago_home.append(
            "cameras",
            [
                {
                    "camera_id": "loop-1",
                    "agency": "police911",
                    "name": "State & Madison",
                    "lat": 41.8819,
                    "lon": -87.6278,
                    "h3": h3.latlng_to_cell(41.8819, -87.6278, 9),
                    "kind": "street",
                },
                {
                    "camera_id": "loop-2",
                    "agency": "municipal",
                    "name": "Clark & Lake",
                    "lat": 41.8857,
                    "lon": -87.6309,
                    "h3": h3.latlng_to_cell(41.8857, -87.6309, 9),
                    "kind": "street",
                },
            ],
        )
    home = Path(chicago_home.storage.root).parent
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    monkeypatch.delenv("PESQUISA_TABLES_URI", raising=False)
    return home


@pytest.mark.slow
def test_crime_map_page_renders_all_layers(page_home: Path) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents"] == "4,967"
    assert metrics["Cameras"] == "2"
    assert int(metrics["Gi* hot cells (p < 0.05)"].replace(",", "")) > 0
    assert len(at.get("deck_gl_json_chart")) == 1
    # hour x weekday table, Knox table, coverage priorities, hot-spot cells
    assert len(at.dataframe) == 4
    assert "Knox test" in " ".join(m.value for m in at.markdown)
    assert metrics["Hot cells covered"].split(" / ")[0].isdigit()

    for layer in ("Counts", "Kernel density"):
        at.radio(key="cm_layer").set_value(layer).run()
        assert not at.exception, at.exception
    at.multiselect(key="cm_types").set_value(["THEFT"]).run()
    assert not at.exception, at.exception
    assert int({m.label: m.value for m in at.metric}["Incidents"].replace(",", "")) == 1004
