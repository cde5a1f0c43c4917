"""Decoding and sampling with PyAV, and the one-line reasons bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.video import DecodeError, VideoReader, probe_video


@pytest.mark.parametrize("fmt", ["mp4", "mkv", "ts", "avi"])
def test_containers_decode_and_sample_at_the_requested_rate(clips, fmt) -> None:
    with VideoReader(clips[fmt], sample_fps=5) as r:
        frames = list(r)
        assert r.info.fps == pytest.approx(25)
        assert (r.info.width, r.info.height) == (160, 120)
    assert r.decoded == 50
    assert len(frames) == 10  # 2 s at 5 fps
    offsets = [f.offset_s for f in frames]
    assert offsets == pytest.approx([0.2 * i for i in range(10)], abs=0.021)
    assert [f.index for f in frames] == [5 * i for i in range(10)]
    rgb = frames[3].rgb()
    assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
    # the moving square is where it was drawn (frame 15: x = 45)
    assert rgb[40:60, 47:63].mean() > 200
    assert frames[3].gray(80).shape == (60, 80)


def test_sampling_faster_than_the_video_keeps_every_frame(clips) -> None:
    with VideoReader(clips["mp4"], sample_fps=100) as r:
        assert len(list(r)) == 50
    with VideoReader(clips["mp4"], sample_fps=None) as r:
        assert len(list(r)) == 50


def test_uneven_rate_samples_evenly(clips) -> None:
    with VideoReader(clips["mp4"], sample_fps=3) as r:
        offsets = [f.offset_s for f in r]
    assert len(offsets) == 6  # 0, .36/.32, .68, 1.0, 1.32, 1.68
    gaps = np.diff(offsets)
    assert gaps.min() >= 0.28 and gaps.max() <= 0.4


def test_probe_reports_header_facts(clips) -> None:
    info = probe_video(clips["mp4"])
    assert info.codec == "h264" and info.declared_frames == 50
    assert info.duration_s == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.mp4", "empty file (0 bytes)"),
        ("notes.mp4", "not a video (text data)"),
        ("audio.mp4", "no video stream"),
        ("unsupported.avi", "unsupported video codec"),
        ("truncated.mp4", "truncated: file ends inside the 'mdat' box"),
        ("truncated_noindex.mp4", "no moov index"),
        ("truncated.mkv", "truncated"),
        ("corrupt.mp4", "corrupt data"),
    ],
)
def test_bad_input_raises_one_line_reason(clips, name, reason) -> None:
    with pytest.raises(DecodeError) as err:
        with VideoReader(clips[name], sample_fps=5) as r:
            for _ in r:
                pass
    msg = str(err.value)
    assert reason in msg
    assert "\n" not in msg
