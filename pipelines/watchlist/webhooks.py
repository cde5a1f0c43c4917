"""Alert webhooks: each new alert is POSTed as JSON to the webhook of every agency it is routed to
(``watchlist.webhooks`` in the settings: agency -> URL).

Delivery runs in one background thread per process: :func:`dispatch_alerts` only puts the alerts on
a bounded queue and returns at once, so a slow or dead receiver never delays an alert. Each POST is
retried ``webhook_retries`` times with exponential backoff from ``webhook_backoff_s``; a delivery
that still fails is logged (the alert is in the table either way). A full queue drops the delivery
with a log line rather than block.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from pipelines.watchlist.config import watchlist_settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
#: alert fields sent (the crop travels base64-encoded as ``crop_jpeg_b64``)
PAYLOAD_FIELDS = (
    "alert_id",
    "entry_id",
    "kind",
    "value",
    "ts",
    "camera_id",
    "agency",
    "camera_agency",
    "recipients",
    "score",
    "distance",
    "matched_text",
    "priority",
    "reason",
    "case_number",
    "read_id",
    "sighting_id",
    "raised_at",
    "latency_s",
)


@dataclass
class Delivery:
    url: str
    agency: str
    body: bytes
    alert_id: str
    timeout_s: float
    retries: int
    backoff_s: float


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    attempts: int = 0
    #: the last 100 failures (a receiver dead for days must not grow the runner's memory)
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=100))


def payload(alert: dict[str, Any], agency: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: alert.get(k) for k in PAYLOAD_FIELDS}
    for k, v in out.items():
        if isinstance(v, dt.datetime):
            out[k] = v.isoformat()
    out["to_agency"] = agency
    crop = alert.get("crop_jpeg")
    out["crop_jpeg_b64"] = base64.b64encode(crop).decode() if crop else None
    return out


class WebhookDispatcher:
    """A queue and one daemon thread that posts deliveries with retries."""

    def __init__(self, maxsize: int = QUEUE_SIZE):
        self._queue: queue.Queue[Delivery] = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._idle = threading.Condition()
        self._busy = 0
        self.stats = DeliveryStats()

    def submit(self, d: Delivery) -> bool:
        """Queue one delivery; False (logged) when the queue is full. Never blocks."""
        self._start()
        try:
            with self._idle:
                self._busy += 1
            self._queue.put_nowait(d)
        except queue.Full:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
            self.stats.dropped += 1
            log.error("webhook queue full: alert %s not posted to %s", d.alert_id, d.agency)
            return False
        return True

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued delivery is done (delivered or given up); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _start(self) -> None:
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pesquisa-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            d = self._queue.get()
            try:
                self._deliver(d)
            except Exception:  # never let the thread die
                log.exception("webhook delivery crashed")
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _deliver(self, d: Delivery) -> None:
        delay = d.backoff_s
        for attempt in range(d.retries + 1):
            self.stats.attempts += 1
            try:
                req = urllib.request.Request(
                    d.url,
                    data=d.body,
                    method="POST",
                    headers={"Content-Type": "application/json", "User-Agent": "pesquisa-alerts/1"},
                )
                with urllib.request.urlopen(req, timeout=d.timeout_s) as resp:  # noqa: S310 - configured URL
                    if 200 <= resp.status < 300:
                        self.stats.delivered += 1
                        return
                    reason = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = str(getattr(exc, "reason", exc))
            if attempt < d.retries:
                log.warning(
                    "webhook %s for alert %s: %s; retry %d in %.1f s",
                    d.agency,
                    d.alert_id,
                    reason,
                    attempt + 1,
                    delay,
                )
                time.sleep(delay)
                delay *= 2
        self.stats.failed += 1
        self.stats.errors.append(f"{d.agency} {d.alert_id}: {reason}")
        log.error(
            "webhook %s: alert %s not delivered after %d attempts: %s",
            d.agency,
            d.alert_id,
            d.retries + 1,
            reason,
        )


_DISPATCHER: WebhookDispatcher | None = None
_DISPATCHER_GUARD = threading.Lock()


def dispatcher() -> WebhookDispatcher:
    """The process's dispatcher."""
    global _DISPATCHER
    with _DISPATCHER_GUARD:
        if _DISPATCHER is None:
            _DISPATCHER = WebhookDispatcher()
        return _DISPATCHER


def dispatch_alerts(lh: Lakehouse, alerts: list[dict[str, Any]]) -> int:
    """Queue each alert for every recipient agency that has a webhook. Returns deliveries queued."""
    cfg = watchlist_settings(lh)
    if not cfg.webhooks or not alerts:
        return 0
    hooks = {agency: url.get_secret_value() for agency, url in cfg.webhooks.items() if url.get_secret_value()}
    n = 0
    for a in alerts:
        for agency in a.get("recipients") or []:
            url = hooks.get(agency)
            if not url:
                continue
            body = json.dumps(payload(a, agency), ensure_ascii=False).encode()
            n += dispatcher().submit(
                Delivery(
                    url,
                    agency,
                    body,
                    a["alert_id"],
                    cfg.webhook_timeout_s,
                    cfg.webhook_retries,
                    cfg.webhook_backoff_s,
                )
            )
    return n
