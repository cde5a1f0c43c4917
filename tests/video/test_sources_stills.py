"""Finding sources under paths, and still images (EXIF orientation and capture time)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pipelines.video import DecodeError, discover, load_still


def test_discover_walks_directories_and_reports_problems(tmp_path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "x.MP4").write_bytes(b"1")
    (tmp_path / "a" / "b" / "y.jpg").write_bytes(b"2")
    (tmp_path / "a" / "b" / "labels.txt").write_text("ignored in a folder")
    (tmp_path / "a" / ".hidden.mp4").write_bytes(b"3")
    (tmp_path / "named.txt").write_text("named explicitly")
    found, problems = discover(
        [tmp_path / "a", tmp_path / "a" / "x.MP4", tmp_path / "named.txt", tmp_path / "missing.mp4"]
    )
    assert [(f.path.name, f.kind) for f in found] == [("x.MP4", "video"), ("y.jpg", "image")]
    assert all(f.path.is_absolute() for f in found)
    reasons = dict((p.rsplit("/", 1)[-1], r) for p, r in problems)
    assert reasons == {
        "named.txt": "unsupported file type '.txt'",
        "missing.mp4": "no such file or directory",
    }


def _jpeg_with_exif(path, when: str | None, orientation: int | None = None, offset: str | None = None):
    from PIL import Image

    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :20] = 255  # white band on the left
    im = Image.fromarray(img)
    exif = Image.Exif()
    if orientation:
        exif[274] = orientation
    sub = exif.get_ifd(0x8769)
    if when:
        sub[36867] = when
    if offset:
        sub[36881] = offset
    im.save(path, exif=exif)
    return path


def test_still_exif_time_and_orientation(tmp_path) -> None:
    s = load_still(_jpeg_with_exif(tmp_path / "a.jpg", "2025:07:01 10:20:30", orientation=6, offset="-03:00"))
    assert s.taken == dt.datetime(2025, 7, 1, 13, 20, 30, tzinfo=dt.UTC)
    assert (s.width, s.height) == (40, 80)  # rotated upright
    assert s.image[:20].mean() > 200 and s.image[-20:].mean() < 30
    s2 = load_still(_jpeg_with_exif(tmp_path / "b.jpg", "2025:07:01 10:20:30"))
    assert s2.taken == dt.datetime(2025, 7, 1, 10, 20, 30, tzinfo=dt.UTC)
    assert load_still(_jpeg_with_exif(tmp_path / "c.jpg", None)).taken is None


@pytest.mark.parametrize(("content", "reason"), [(b"", "empty file"), (b"plain text" * 50, "not an image")])
def test_bad_stills(tmp_path, content, reason) -> None:
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        load_still(p)


def test_truncated_still(tmp_path) -> None:
    from PIL import Image

    p = tmp_path / "t.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(DecodeError, match="corrupt or truncated"):
        load_still(p)
