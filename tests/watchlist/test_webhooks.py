"""Webhooks against real loopback HTTP servers: delivered with the alert's JSON; a failing or dead
receiver is retried in the background and never delays raising the alert."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from watch_testkit import as_table, read_row

from pipelines.watchlist import raise_alerts
from pipelines.watchlist.manage import add_plate
from pipelines.watchlist.webhooks import dispatcher


class Receiver:
    """A loopback HTTP server that records POSTs; ``status`` decides the answer, ``delay`` its pace."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.bodies: list[dict] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                outer.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                if status == 200:
                    outer.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        r = Receiver(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return f"http://127.0.0.1:{port}/hook"


def _settings(monkeypatch, hooks: dict[str, str], retries: int = 2) -> None:
    monkeypatch.setenv("PESQUISA__WATCHLIST__WEBHOOKS", json.dumps(hooks))
    monkeypatch.setenv("PESQUISA__WATCHLIST__WEBHOOK_RETRIES", str(retries))
    monkeypatch.setenv("PESQUISA__WATCHLIST__WEBHOOK_BACKOFF_S", "0.2")
    monkeypatch.setenv("PESQUISA__WATCHLIST__WEBHOOK_TIMEOUT_S", "2")


def test_each_recipient_agency_gets_the_alert_as_json(home, police, receivers, monkeypatch):
    pol, mun = receivers(), receivers()
    _settings(monkeypatch, {"police911": pol.url, "municipal": mun.url})
    add_plate(home, police, "ABC1234", reason="stolen", priority=1)
    add_plate(home, police, "COV3R7", reason="undercover", covert=True)
    now = dt.datetime.now(dt.UTC)
    alerts = raise_alerts(
        home, reads=as_table([read_row("r1", "ABC1234", now), read_row("r2", "COV3R7", now)])
    )
    assert len(alerts) == 2
    assert dispatcher().flush(10)
    shared = next(a for a in alerts if a["value"] == "ABC1234")
    assert sorted(b["alert_id"] for b in pol.bodies) == sorted(a["alert_id"] for a in alerts)
    assert [b["alert_id"] for b in mun.bodies] == [shared["alert_id"]]  # the covert hit stays with the police
    body = mun.bodies[0]
    assert body["to_agency"] == "municipal" and body["value"] == "ABC1234" and body["camera_id"] == "MUN-1"
    assert body["priority"] == 1 and body["read_id"] == "r1" and body["crop_jpeg_b64"]
    assert dt.datetime.fromisoformat(body["ts"]) == shared["ts"]


def test_failing_and_dead_receivers_are_retried_in_the_background_and_never_block(
    home, police, receivers, monkeypatch, caplog
):
    slow_fail = receivers(status=500, delay=1.0)
    _settings(monkeypatch, {"police911": slow_fail.url, "municipal": _dead_url()}, retries=2)
    add_plate(home, police, "ABC1234", reason="stolen")
    stats = dispatcher().stats
    failed_before = stats.failed
    t0 = time.perf_counter()
    alerts = raise_alerts(home, reads=as_table([read_row("r1", "ABC1234", dt.datetime.now(dt.UTC))]))
    took = time.perf_counter() - t0
    assert len(alerts) == 1 and home.count("alerts") == 1
    # three attempts of 1 s each plus backoff would take > 3.6 s: raising did not wait for them
    assert took < 3.0, took
    with caplog.at_level("ERROR", logger="pipelines.watchlist.webhooks"):
        assert dispatcher().flush(30)
    assert slow_fail.attempts == 3  # first try + 2 retries
    assert stats.failed - failed_before == 2
    assert any("not delivered after 3 attempts" in r.getMessage() for r in caplog.records)
