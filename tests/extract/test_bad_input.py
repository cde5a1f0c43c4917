"""Bad input: every kind of broken file gets a one-line error naming it, is recorded as failed,
leaves nothing in the row tables, and does not stop the good files; the exit code says so."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _bad_files(d, good) -> dict[str, str]:
    """name -> expected reason (substring)."""
    data = good.read_bytes()
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("not a video, just text\n" * 30)
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    mid = len(corrupt) // 2
    corrupt[mid : mid + 6000] = np.random.default_rng(3).integers(0, 256, 6000, dtype=np.uint8).tobytes()
    (d / "corrupt.mp4").write_bytes(bytes(corrupt))
    _avi(d / "unsupported.avi")
    mkv = _remux(good, d / "cut.mkv").read_bytes()
    (d / "cut.mkv").write_bytes(mkv[: len(mkv) * 3 // 5])
    from PIL import Image

    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(d / "broken.jpg", quality=90)
    (d / "broken.jpg").write_bytes((d / "broken.jpg").read_bytes()[:3000])
    return {
        "empty.mp4": "empty file (0 bytes)",
        "notes.mp4": "not a video (text data)",
        "truncated.mp4": "truncated: file ends inside the 'mdat' box",
        "cut.mkv": "truncated: frames end at",
        "corrupt.mp4": "corrupt data",
        "unsupported.avi": "unsupported video codec",
        "broken.jpg": "corrupt or truncated image",
    }


def _remux(src, dst):
    """Copy the H.264 packets of ``src`` into a Matroska file (no re-encoding)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pkt in inp.demux(s_in):
            if pkt.dts is None:
                continue
            pkt.stream = s_out
            out.mux(pkt)
    return dst


def _avi(path) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            for p in s.encode(
                av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            ):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = path.read_bytes()
    path.write_bytes(data[:4096].replace(b"FMP4", b"QQZZ") + data[4096:])


def test_bad_files_fail_alone_with_one_line_each(short_clip, ray_session, tmp_path, capsys) -> None:
    from jobs.cli import main
    from lakehouse import Lakehouse

    clip, truth = short_clip
    d = tmp_path / "in"
    d.mkdir()
    good = shutil.copy(clip, d / "good.mp4")
    expected = _bad_files(d, clip)
    home = tmp_path / "home"
    rc = main(
        [
            "--home",
            str(home),
            "ingest",
            str(d),
            str(tmp_path / "missing.mp4"),
            "--camera",
            "CAM-X",
            "--start",
            "2026-03-02T10:00:00Z",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(expected) + 1
    for name, reason in expected.items():
        line = next(e for e in errors if f"/{name}: " in e)
        assert reason in line, line
    assert any("missing.mp4: no such file or directory" in e for e in errors)
    assert "ok       " + str(good) in captured.out

    lh = Lakehouse(home=home)
    runs = {r["source_uri"].rsplit("/", 1)[-1]: r for r in lh.read("processing_runs").to_pylist()}
    assert runs["good.mp4"]["status"] == "succeeded"
    for name, reason in expected.items():
        assert runs[name]["status"] == "failed" and reason in runs[name]["error"], runs[name]
        assert runs[name]["plate_reads"] == 0 and runs[name]["face_sightings"] == 0
    assert runs["missing.mp4"]["status"] == "failed"
    good_id = runs["good.mp4"]["video_id"]
    for table in ("plate_reads", "face_sightings"):
        ids = set(lh.read(table, columns=["video_id"])["video_id"].to_pylist())
        assert ids <= {good_id}  # nothing partial from the bad files
    plates = lh.read("plate_reads", columns=["plate", "agency"]).to_pylist()
    assert truth.plate in {p["plate"] for p in plates}
    assert {p["agency"] for p in plates} == {"municipal"}  # unregistered camera: default agency
    # the cut Matroska file decoded (and went through the models) for a while before it failed,
    # yet none of its rows were committed
    assert runs["cut.mkv"]["frames_decoded"] > 0
