"""Credentials never leave the reader; status files are read back with staleness; the ffmpeg rule."""

from __future__ import annotations

import json
import time

import pytest

from pipelines.live.source import source_options
from pipelines.live.status import camera_state, read_status, status_dir, write_status
from pipelines.live.urls import redact, redact_text


@pytest.mark.parametrize(
    ("url", "want"),
    [
        (
            "rtsp://admin:hunter2@10.0.0.5:554/Streaming/Channels/101",
            "rtsp://***@10.0.0.5:554/Streaming/Channels/101",
        ),
        ("rtsp://user@cam.local/live", "rtsp://***@cam.local/live"),
        ("udp://127.0.0.1:5000?localaddr=127.0.0.1", "udp://127.0.0.1:5000?localaddr=127.0.0.1"),
        ("https://cdn.example/live.m3u8?token=abc&x=1", "https://cdn.example/live.m3u8?token=***&x=1"),
        ("", ""),
    ],
)
def test_redact(url, want):
    assert redact(url) == want


def test_redact_text_hides_credentials_in_messages():
    url = "rtsp://admin:hunter2@10.0.0.5/x"
    msg = redact_text(f"cannot open {url}: Connection refused (rtsp://a:b@other/y)", url)
    assert "hunter2" not in msg and ":b@" not in msg and "rtsp://***@10.0.0.5/x" in msg


def test_every_source_gets_a_timeout():
    for url in ("rtsp://h/x", "udp://127.0.0.1:5000", "http://h/x.m3u8"):
        opts = source_options(url, 5.0)
        assert any(k in opts for k in ("timeout", "rw_timeout")), url
        assert "5000000" in opts.values()


def test_camera_state_from_frame_age():
    now = 1000.0
    assert camera_state("live", now - 0.5, now - 60, now, 10) == "live"
    assert camera_state("reconnecting", now - 4, now - 60, now, 10) == "reconnecting"
    assert camera_state("reconnecting", now - 11, now - 60, now, 10) == "offline"
    assert camera_state("connecting", None, now - 2, now, 10) == "reconnecting"
    assert camera_state("connecting", None, now - 12, now, 10) == "offline"
    assert camera_state("stopped", now - 0.5, now - 60, now, 10) == "offline"
    # frames sent 12 s ago but still arriving (a backlog being decoded): not an outage
    assert camera_state("live", now - 12, now - 60, now, 10, last_arrival_ts=now - 0.2) == "live"
    assert camera_state("live", now - 12, now - 60, now, 10, last_arrival_ts=now - 5) == "offline"


def test_status_roundtrip_stale_and_unreported(lakehouse, tmp_path):
    home = tmp_path / "home"
    lakehouse.upsert(
        "cameras",
        [
            {"camera_id": "CAM-A", "agency": "municipal", "stream_uri": "rtsp://u:p@h/a"},
            {"camera_id": "CAM-B", "agency": "municipal", "stream_uri": "rtsp://h/b"},
            {"camera_id": "CAM-C", "agency": "municipal", "stream_uri": None},
        ],
    )
    write_status(
        home,
        {
            "camera_id": "CAM-A",
            "state": "live",
            "last_frame_ts": time.time(),
            "lag_s": 0.4,
            "fps_analysed": 4.0,
            "error": None,
            "uri": "rtsp://***@h/a",
        },
    )
    rows = {r["camera_id"]: r for r in read_status(lakehouse)}
    assert set(rows) == {"CAM-A", "CAM-B"}  # CAM-C has no stream
    assert rows["CAM-A"]["state"] == "live" and rows["CAM-A"]["lag_s"] == 0.4
    assert rows["CAM-B"]["state"] == "offline" and "not started" in rows["CAM-B"]["error"]
    # a runner that stopped updating its file (killed) reads as offline
    p = status_dir(home) / "CAM-A.json"
    raw = json.loads(p.read_text())
    raw["updated_at"] = time.time() - 120
    p.write_text(json.dumps(raw))
    assert {r["camera_id"]: r for r in read_status(lakehouse)}["CAM-A"]["state"] == "offline"


def test_missing_ffmpeg_fails_under_ci(monkeypatch):
    """Under CI=true a live test that would skip for want of ffmpeg fails instead."""
    from tests.live.conftest import require_ffmpeg

    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_ffmpeg()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_ffmpeg()


def test_stream_cli_status_json_and_errors(lakehouse, tmp_path, capsys):
    from jobs.cli import main

    home = tmp_path / "home"
    lakehouse.upsert(
        "cameras",
        [
            {"camera_id": "CAM-A", "agency": "municipal", "stream_uri": "rtsp://u:p@h/a"},
            {"camera_id": "CAM-N", "agency": "municipal", "stream_uri": None},
        ],
    )
    write_status(
        home,
        {
            "camera_id": "CAM-A",
            "state": "live",
            "last_frame_ts": time.time(),
            "lag_s": 0.7,
            "fps_analysed": 3.5,
            "error": None,
            "uri": "rtsp://***@h/a",
        },
    )
    assert main(["--home", str(home), "stream", "status", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["camera_id"], r["state"]) for r in rows] == [("CAM-A", "live")]
    assert set(("camera_id", "state", "last_frame_ts", "fps_analysed", "lag_s", "error")) <= set(rows[0])
    assert main(["--home", str(home), "stream", "run", "--camera", "NOPE"]) == 1
    assert "unknown camera" in capsys.readouterr().err
    assert main(["--home", str(home), "stream", "run", "--camera", "CAM-N"]) == 1
    assert "without a stream_uri" in capsys.readouterr().err
