"""End to end in a real browser: start the app server on a free port, drive headless Chromium
through sign-in -> case -> plate search -> route on the map, check what the page shows, and take
screenshots of the main pages. They go to a temporary folder; with ``PESQUISA_UPDATE_SCREENSHOTS=1``
to docs/screenshots/ (linked from the README), so a plain test run leaves the checkout clean."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from app_testkit import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.component]

SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("PESQUISA_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "pesquisa-screenshots"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",  # software WebGL for the deck.gl maps
]


def chromium_path() -> str | None:
    for cand in (
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if cand and Path(cand).exists():
            return cand
    return None


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip(
            "no Chromium found (/usr/bin/chromium, chromium-browser, google-chrome): browser test skipped"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright's python package is not installed"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(app_home, tmp_path_factory):
    from app.server import start_app

    log = tmp_path_factory.mktemp("applog") / "app.log"
    app = start_app(app_home, users_file=app_home / "users.yaml", log_path=log)
    try:
        app.wait_ready(timeout=90)
        yield app
    finally:
        app.stop()
        assert app.process.poll() is not None, "the app server must be stopped"


def _wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout,
    )


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def _route_pixels(png: bytes) -> tuple[int, int]:
    """Pixels of the impossible-hop red and the route blue in a screenshot of the map."""
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    reds = int(((r > 190) & (g < 90) & (b < 90)).sum())
    blues = int(((r < 70) & (g > 70) & (g < 130) & (b > 120)).sum())
    return reds, blues


def test_sign_in_search_and_route_in_chromium(server, browser):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1440, "height": 1200}, device_scale_factor=1)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
        _shot(page, "sign-in")
        page.get_by_label("User").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Plate search")).to_be_visible(timeout=30_000)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Ana Benítez")).to_be_visible()
        expect(page.get_by_text("No active case.")).to_be_visible()

        sidebar.get_by_label("Case number").fill("C-2026-0042")
        sidebar.get_by_label("Purpose").fill("robbery on Av. España, 10 Nov")
        sidebar.get_by_role("button", name="Open case").click()
        expect(page.get_by_text("Case C-2026-0042")).to_be_visible(timeout=30_000)

        page.get_by_label("Plate or pattern").fill("ABC1234")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("3 reads")).to_be_visible(timeout=30_000)
        _wait_idle(page)
        page.wait_for_timeout(800)  # let the dataframe canvas paint its thumbnails
        _shot(page, "plate-search")
        page.get_by_role("tab", name="Crops").click()  # the table is a canvas; the gallery is text
        crops = page.get_by_test_id("stTabs")  # the export panel below lists the same reads
        expect(crops.get_by_text("Ruta Transchaco portico (POL-P2)").first).to_be_visible(timeout=10_000)
        body = page.inner_text("body")
        assert "Av. España portico (MUN-A1)" in body and "Plaza Uruguaya (POL-P1)" in body
        assert "Mercado 4" not in body  # municipal-only camera: not visible to the police
        assert page.locator("[data-testid='stImage'] img").count() == 3
        _shot(page, "plate-search-crops")

        page.get_by_role("button", name="Open route").click()
        expect(page.get_by_role("heading", name="Route")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Impossible hops")).to_be_visible(timeout=30_000)
        _wait_idle(page)
        deck = page.get_by_test_id("stDeckGlJsonChart").first
        expect(deck.locator("canvas").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(2500)  # deck.gl draws after its first animation frames
        body = page.inner_text("body")
        assert "Route of ABC1234" in body and "would need an impossible speed" in body
        reds, blues = _route_pixels(deck.screenshot())
        assert reds > 300, f"the impossible hop is not drawn in red on the map ({reds} red pixels)"
        assert blues > 100, f"the plausible hop/sightings are not drawn ({blues} blue pixels)"
        _shot(page, "route")

        page.get_by_role("link", name="Cameras").click()
        expect(page.get_by_role("heading", name="Cameras")).to_be_visible(timeout=30_000)
        page.get_by_text("All time", exact=True).click()
        metric = page.get_by_test_id("stMetric").filter(has_text="Plate reads")
        expect(metric).to_contain_text("5", timeout=30_000)  # 5 reads on the 3 cameras the police sees
        expect(page.get_by_test_id("stDeckGlJsonChart").locator("canvas").first).to_be_visible(timeout=30_000)
        _wait_idle(page)
        page.wait_for_timeout(2000)
        _shot(page, "cameras")

        page.get_by_role("link", name="Face search").click()
        expect(page.get_by_role("heading", name="Face search")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Upload a clear, frontal photo of one face")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stFileUploader")).to_be_visible()
        _wait_idle(page)
        _shot(page, "face-search")
        assert not errors, errors
    finally:
        ctx.close()


def test_engineer_ingest_page_in_chromium(server, browser):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = ctx.new_page()
    try:
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_label("User").fill("eng")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Cameras")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="Ingest status").click()
        expect(page.get_by_role("heading", name="Failures")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("4 of 4 runs finished (1 failed)")).to_be_visible(
            timeout=30_000
        )  # scoped to municipal + POL-P1
        _wait_idle(page)
        page.wait_for_timeout(800)
        _shot(page, "ingest")
    finally:
        ctx.close()


def test_alert_arrives_on_the_open_alerts_page_in_chromium(server, browser, app_home):
    """Signed in, the Alerts page open: an alert raised meanwhile (as the live stream does after a
    micro-batch commit) appears without any click, coloured by priority, with its crop."""
    from datetime import UTC, datetime

    from app_testkit import plate_jpeg
    from playwright.sync_api import expect

    from lakehouse import Lakehouse
    from lakehouse.conform import conform, to_arrow
    from lakehouse.specs import spec
    from pipelines.governance import SearchContext
    from pipelines.watchlist import raise_alerts
    from pipelines.watchlist.manage import add_plate

    lh = Lakehouse(home=app_home)
    sup = SearchContext(
        user="sup",
        role="supervisor",
        agency="police911",
        case_number="C-LIVE-1",
        purpose="stolen vehicle, live watch",
    )
    add_plate(lh, sup, "LIV3001", reason="stolen vehicle", priority=1)
    ctx = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_label("User").fill("sup")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Plate search")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="Alerts").click()
        expect(page.get_by_role("heading", name="Alerts")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("No alerts in this period.")).to_be_visible(timeout=30_000)
        _wait_idle(page)

        now = datetime.now(UTC)
        read = {
            "read_id": "live-r1",
            "camera_id": "MUN-A1",
            "video_id": "seg-MUN-A1-live",
            "ts": now,
            "source_uri": "rtsp://127.0.0.1:8554/mun-a1",
            "plate": "LIV3001",
            "confidence": 0.93,
            "candidates": [{"text": "LIV3001", "score": 0.93}],
            "crop_jpeg": plate_jpeg("LIV3001"),
            "track_len": 9,
            "model_version": "test-v1",
            "agency": "municipal",
        }
        table = conform(to_arrow([read], spec("plate_reads")), spec("plate_reads"))
        lh.append("plate_reads", table)
        (alert,) = raise_alerts(lh, reads=table)
        t0 = datetime.now(UTC)
        # no click, no reload: the feed's fragment refreshes by itself
        expect(page.get_by_text("LIV3001").first).to_be_visible(timeout=20_000)
        shown_after = (datetime.now(UTC) - t0).total_seconds()
        metric = page.get_by_test_id("stMetric").filter(has_text="Unacknowledged")
        expect(metric).to_contain_text("1")
        expect(page.locator("[data-testid='stImage'] img").first).to_be_visible(timeout=10_000)  # the crop
        body = page.inner_text("body")
        assert "Av. España portico" in body and "stolen vehicle" in body and "C-LIVE-1" in body
        assert shown_after < 15, shown_after
        deck = page.get_by_test_id("stDeckGlJsonChart").first
        expect(deck.locator("canvas").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(2500)  # deck.gl draws after its first animation frames
        reds, _ = _route_pixels(deck.screenshot())
        assert reds > 20, f"the priority-1 alert is not drawn in red on the map ({reds} red pixels)"
        _shot(page, "alerts")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_text("police911: sup")).to_be_visible(timeout=20_000)
        assert alert["recipients"] == ["police911", "municipal"]
        assert not errors, errors
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def movement_home(tmp_path_factory):
    """The app home plus a synthetic city with planted convoys (real Delta tables)."""
    from app_testkit import build_home

    from lakehouse import Lakehouse
    from pipelines.movement.scenario import SMALL_CITY, simulate_city

    home = build_home(tmp_path_factory.mktemp("movementbrowser"))
    scn = simulate_city(**SMALL_CITY, seed=21)
    scn.write_to(Lakehouse(home=home))
    return home, scn


@pytest.fixture(scope="module")
def movement_server(movement_home, tmp_path_factory):
    from app.server import start_app

    home, _ = movement_home
    log = tmp_path_factory.mktemp("movementlog") / "app.log"
    app = start_app(home, users_file=home / "users.yaml", log_path=log)
    try:
        app.wait_ready(timeout=90)
        yield app
    finally:
        app.stop()
        assert app.process.poll() is not None, "the app server must be stopped"


def _pick(page, test_id: str, label: str, text: str) -> None:
    """Choose ``text`` in a Streamlit select / multiselect (type it, Enter)."""
    box = page.get_by_test_id(test_id).filter(has_text=label).first
    box.locator("input").first.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def _day(page, label: str, day: str) -> None:
    """Type ``YYYY-MM-DD`` into a Streamlit date field (segments: year, month, day)."""
    field = page.get_by_label(label, exact=True)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(day.replace("-", ""))
    page.keyboard.press("Tab")


def test_canvass_route_convoy_in_chromium(movement_server, movement_home, browser):
    """An investigator canvasses a camera, opens a passing vehicle's route, and from the route
    finds the vehicles travelling with it: the planted partner is ranked first."""
    from playwright.sync_api import expect

    _, scn = movement_home
    target, partner, a, b = scn.truth.convoys[0]
    seen = sorted((r["ts"], r["camera_id"]) for r in scn.rows if r["plate"] == target and a <= r["ts"] <= b)
    ts, camera = seen[0]
    day = ts.date().isoformat()  # SMALL_CITY's home zone is UTC
    ctx = browser.new_context(viewport={"width": 1440, "height": 1200}, device_scale_factor=1)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(movement_server.url, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_label("User").fill("root")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_label("Case number")).to_be_visible(timeout=60_000)
        sidebar.get_by_label("Case number").fill("C-MOV-BROWSER")
        sidebar.get_by_label("Purpose").fill("vehicles seen with a suspect car")
        sidebar.get_by_role("button", name="Open case").click()
        expect(page.get_by_text("Case C-MOV-BROWSER")).to_be_visible(timeout=30_000)

        page.get_by_role("link", name="Canvass").click()
        expect(page.get_by_role("heading", name="Canvass")).to_be_visible(timeout=30_000)
        _wait_idle(page)
        _pick(page, "stMultiSelect", "Cameras", camera)
        _day(page, "From day", day)
        _day(page, "To day", day)
        page.get_by_role("button", name="Who passed here").click()
        expect(page.get_by_text("reads ·")).to_be_visible(timeout=60_000)
        _wait_idle(page)
        _pick(page, "stSelectbox", "Plate", target)
        expect(page.get_by_role("combobox", name="Plate")).to_have_value(target, timeout=10_000)
        _wait_idle(page)
        page.wait_for_timeout(800)
        _shot(page, "movement-canvass")

        page.get_by_role("button", name="Open route").click()
        expect(page.get_by_role("heading", name="Route")).to_be_visible(timeout=30_000)
        expect(page.get_by_text(f"Route of {target}")).to_be_visible(timeout=60_000)
        _wait_idle(page)
        deck = page.get_by_test_id("stDeckGlJsonChart").first
        expect(deck.locator("canvas").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(2500)  # deck.gl draws after its first animation frames
        _shot(page, "movement-route")

        page.get_by_role("button", name="Find convoy").click()
        expect(page.get_by_role("heading", name="Convoy")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("textbox", name="Plate")).to_have_value(target, timeout=30_000)
        page.get_by_role("button", name="Find convoy").click()
        expect(page.get_by_text(f"with {target}")).to_be_visible(timeout=60_000)
        _wait_idle(page)
        # the "Vehicle" picker starts on rank 1
        expect(page.get_by_role("combobox", name="Vehicle")).to_have_value(partner, timeout=30_000)
        page.wait_for_timeout(1500)
        _shot(page, "movement-convoy")
        assert not errors, errors
    finally:
        ctx.close()
