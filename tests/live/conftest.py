"""Fixtures for the live tests: a tiny synthetic city (one street camera, 15 s), its clip
pre-encoded camera-like, and ffmpeg (a missing ffmpeg skips, except under ``CI=true`` where it fails
the run: CI must exercise the live path)."""

from __future__ import annotations

import os
import shutil

import pytest

LIVE_CITY = {"cameras": 1, "minutes": 0.25, "seed": 7}


def require_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path:
        return path
    msg = "ffmpeg is not installed: the live tests stream a real clip over loopback with it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " (CI=true: a skipped live test fails the run)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return require_ffmpeg()


@pytest.fixture(scope="session")
def live_city(tmp_path_factory):
    from pipelines.synth.city import generate_city

    return generate_city(tmp_path_factory.mktemp("live-city"), incidents=0, progress=False, **LIVE_CITY)


@pytest.fixture(scope="session")
def live_clip(live_city, ffmpeg):
    """(manifest, video truth, pre-encoded clip path, readable events)."""
    from pipelines.live.simulator import prepare_clip, readable_events

    v = live_city.videos[0]
    clip = prepare_clip(live_city.abspath(v.path))
    return live_city, v, clip, readable_events(live_city, v.camera_id)
