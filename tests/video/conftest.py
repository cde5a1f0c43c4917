"""Small generated clips (PyAV) and their broken variants for the decoding tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_clip(
    path: Path,
    *,
    frames: int = 50,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
    seed: int = 0,
    options: dict | None = None,
) -> Path:
    """A clip with a moving bright square over noise (noise keeps the bitrate realistic)."""
    import av

    w, h = size
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
            x = (i * 3) % (w - 20)
            img[h // 3 : h // 3 + 20, x : x + 20] = 250
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Good clips in four containers plus one of each kind of bad input."""
    d = tmp_path_factory.mktemp("clips")
    out = {
        "mp4": write_clip(d / "good.mp4", options={"movflags": "+faststart"}),
        "mkv": write_clip(d / "good.mkv"),
        "ts": write_clip(d / "good.ts"),
        "avi": write_clip(d / "good.avi", codec="mpeg4"),
    }
    big = write_clip(d / "big.mp4", frames=100, options={"movflags": "+faststart"})
    data = big.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    plain = write_clip(d / "plain.mp4", frames=100).read_bytes()  # moov index at the end
    (d / "truncated_noindex.mp4").write_bytes(plain[: len(plain) * 2 // 3])
    mkv = write_clip(d / "big.mkv", frames=100).read_bytes()
    (d / "truncated.mkv").write_bytes(mkv[: len(mkv) // 2])
    corrupt = bytearray(data)
    rng = np.random.default_rng(1)
    mid = len(corrupt) // 2
    corrupt[mid : mid + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (d / "corrupt.mp4").write_bytes(bytes(corrupt))
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    avi = bytearray(write_clip(d / "other.avi", codec="mpeg4").read_bytes())
    head = bytes(avi[:4096]).replace(b"FMP4", b"QQZZ")  # a fourcc no decoder knows
    (d / "unsupported.avi").write_bytes(head + bytes(avi[4096:]))
    for name in (
        "truncated.mp4",
        "truncated_noindex.mp4",
        "truncated.mkv",
        "corrupt.mp4",
        "empty.mp4",
        "notes.mp4",
        "unsupported.avi",
    ):
        out[name] = d / name
    out["audio.mp4"] = _audio_only(d / "audio.mp4")
    return out


def _audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for _ in range(10):
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path
