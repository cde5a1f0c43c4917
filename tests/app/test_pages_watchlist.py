"""AppTest: the Alerts page (feed routed per agency, covert hits hidden from the other agency,
acknowledge per agency, new alerts on the next refresh) and the Watchlist page (add with a case,
hygiene warning, remove)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from app_testkit import CAMERAS, button, metrics, open_case, plate_jpeg, signed_in, texts, titles

from pipelines.governance import SearchContext

POLICE = SearchContext(
    user="sup", role="supervisor", agency="police911", case_number="C-W-1", purpose="stolen car"
)
MUNICIPAL = SearchContext(
    user="muni", role="supervisor", agency="municipal", case_number="M-W-2", purpose="undercover operation"
)


def _reads(plates: list[tuple[str, str, str]], now: datetime):
    from lakehouse.conform import conform, to_arrow
    from lakehouse.specs import spec

    rows = []
    for i, (rid, plate, cam) in enumerate(plates):
        agency = next(c["agency"] for c in CAMERAS if c["camera_id"] == cam)
        rows.append(
            {
                "read_id": rid,
                "camera_id": cam,
                "ts": now - timedelta(seconds=5 - i),
                "plate": plate,
                "candidates": [{"text": plate, "score": 0.9}],
                "crop_jpeg": plate_jpeg(plate),
                "model_version": "test-v1",
                "agency": agency,
                "source_uri": f"rtsp://127.0.0.1/{cam}",
            }
        )
    return conform(to_arrow(rows, spec("plate_reads")), spec("plate_reads"))


@pytest.fixture(scope="module")
def alerts_home(app_home):
    from lakehouse import Lakehouse
    from pipelines.watchlist import raise_alerts
    from pipelines.watchlist.manage import add_plate

    lh = Lakehouse(home=app_home)
    add_plate(lh, POLICE, "WAT1234", reason="stolen car", priority=1)
    add_plate(lh, MUNICIPAL, "COV5678", reason="undercover", priority=2, covert=True)
    alerts = raise_alerts(
        lh, reads=_reads([("w1", "WAT1234", "MUN-A1"), ("w2", "COV5678", "MUN-A1")], datetime.now(UTC))
    )
    assert len(alerts) == 2
    return lh


def test_alerts_feed_is_per_agency_and_acknowledged_per_agency(app_env, alerts_home):
    at = signed_in("sup")
    at.switch_page("pages/alerts.py").run()
    assert not at.exception, at.exception
    assert titles(at) == ["Alerts"]
    m = metrics(at)
    assert (m["Alerts"], m["Unacknowledged"], m["Priority 1"]) == (
        "1",
        "1",
        "1",
    )  # the covert hit is not theirs
    page = texts(at)
    assert "WAT1234" in page and "COV5678" not in page and "Av. España portico" in page
    button(at, "Acknowledge").click()
    at.run()
    assert not at.exception, at.exception
    assert metrics(at)["Unacknowledged"] == "0"
    assert "police911: sup" in texts(at)
    acks = alerts_home.read("alert_acks").to_pylist()
    assert [(a["agency"], a["user"]) for a in acks] == [("police911", "sup")]

    # an administrator sees both alerts, the municipal acknowledgement is still open
    admin = signed_in("root")
    admin.switch_page("pages/alerts.py").run()
    assert metrics(admin)["Alerts"] == "2"
    assert "COV5678" in texts(admin) and "covert" in texts(admin)


def test_an_alert_raised_while_the_page_is_open_shows_on_the_next_refresh(app_env, alerts_home):
    from pipelines.watchlist import raise_alerts

    at = signed_in("ana")
    at.switch_page("pages/alerts.py").run()
    before = int(metrics(at)["Alerts"])
    assert "NEW4321" not in texts(at)
    from pipelines.watchlist.manage import add_plate

    add_plate(alerts_home, POLICE, "NEW4321", reason="robbery suspect", priority=2)
    (a,) = raise_alerts(alerts_home, reads=_reads([("n1", "NEW4321", "POL-P1")], datetime.now(UTC)))
    at.run()  # what the fragment's timer does
    assert int(metrics(at)["Alerts"]) == before + 1
    assert "NEW4321" in texts(at) and "Plaza Uruguaya" in texts(at)


def test_watchlist_page_adds_with_a_case_warns_and_removes(app_env, alerts_home):
    at = signed_in("sup")
    at.switch_page("pages/watchlist.py").run()
    assert not at.exception, at.exception
    assert titles(at) == ["Watchlist"]
    at.text_input(key="wl_pattern").set_value("W4T1234")
    at.text_input(key="wl_reason").set_value("stolen, second report")
    button(at, "Add to watchlist").click()
    at.run()
    assert "Refused" in texts(at) and "case number is required" in texts(at)

    at = signed_in("sup")  # (AppTest draws the sidebar's case panel only before a page switch)
    open_case(at, "C-W-9", "stolen car, second report")
    at.switch_page("pages/watchlist.py").run()
    at.text_input(key="wl_pattern").set_value("W4T1234")
    at.text_input(key="wl_reason").set_value("stolen, second report")
    button(at, "Add to watchlist").click()
    at.run()
    assert not at.exception, at.exception
    page = texts(at)
    assert "Added plate entry **W4T1234**" in page
    assert "collides with entry" in page and "WAT1234" in page  # 4/A: OCR look-alikes
    entries = at.dataframe[-1].value
    assert "W4T1234" in set(entries["value"]) and "COV5678" not in set(entries["value"])
    row = alerts_home.read("audit_log").to_pylist()
    assert any(r["action"] == "watchlist.add" and r["case_number"] == "C-W-9" for r in row)

    entry_id = entries.set_index("value").loc["W4T1234", "entry_id"]
    at.selectbox(key="wl_remove").set_value(entry_id)
    button(at, "Remove entry").click()
    at.run()
    assert not at.exception, at.exception
    assert "W4T1234" not in set(at.dataframe[-1].value["value"])


def test_cameras_page_shows_each_live_camera_state(app_env, alerts_home):
    import time

    from pipelines.live.status import write_status

    now = time.time()
    write_status(
        app_env,
        {
            "camera_id": "MUN-A1",
            "state": "live",
            "last_frame_ts": now - 0.4,
            "fps_analysed": 5.0,
            "lag_s": 0.4,
            "error": None,
        },
    )
    write_status(
        app_env,
        {
            "camera_id": "POL-P1",
            "state": "reconnecting",
            "last_frame_ts": now - 6,
            "fps_analysed": 0.0,
            "lag_s": None,
            "error": "connection refused",
        },
    )
    at = signed_in("sup")
    at.switch_page("pages/cameras.py").run()
    assert not at.exception, at.exception
    assert "Live cameras: 1 live · 1 reconnecting · 0 offline" in texts(at)
    table = at.dataframe[0].value.set_index("camera_id")
    assert table.loc["MUN-A1", "stream"] == "🟢 live" and table.loc["POL-P1", "stream"] == "🟠 reconnecting"
    assert table.loc["MUN-A1", "lag_s"] == pytest.approx(0.4)
