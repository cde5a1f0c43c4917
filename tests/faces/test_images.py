"""load_image_rgb: EXIF orientation, RGBA/grayscale/16-bit inputs, clear errors for bad files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from pipelines.faces import ImageReadError, as_rgb_uint8, load_image_rgb


def test_32bit_png_is_rgb_and_matches_its_jpeg(face_examples, analyzer):
    png = load_image_rgb(face_examples.path("tests/test_images/32bit.png"))
    jpg = load_image_rgb(face_examples.path("tests/test_images/obama2.jpg"))
    assert png.dtype == np.uint8 and png.shape == jpg.shape == (1200, 626, 3)
    a, b = analyzer.probe(png), analyzer.probe(jpg)
    assert np.linalg.norm(a.embedding - b.embedding) < 0.1


def test_exif_orientation_is_applied(face_examples, analyzer, tmp_path):
    upright = load_image_rgb(face_examples.path("examples/obama_small.jpg"))  # 240 x 320
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # pixels stored sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes the ROTATE_90 above
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=95)
    loaded = load_image_rgb(path)
    assert loaded.shape == upright.shape
    assert np.abs(loaded.astype(int) - upright.astype(int)).mean() < 6  # JPEG re-encoding only
    assert analyzer.probe(loaded) is not None


def test_grayscale_16bit_and_alpha(tmp_path):
    g16 = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    img = load_image_rgb(tmp_path / "g16.png")
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    assert int(img.max()) == int(g16.max()) // 257 and np.array_equal(img[..., 0], img[..., 2])

    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :6, 3] = 255  # left half opaque red, right half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_image_rgb(tmp_path / "a.png")
    assert img[0, 0].tolist() == [200, 0, 0] and img[0, 11].tolist() == [255, 255, 255]

    Image.fromarray(np.full((5, 7), 90, np.uint8), "L").save(tmp_path / "l.jpg")
    assert load_image_rgb(tmp_path / "l.jpg").shape == (5, 7, 3)

    assert as_rgb_uint8(np.ones((4, 4), np.float32)).max() == 255
    assert as_rgb_uint8(np.zeros((4, 4, 4), np.uint8)).shape == (4, 4, 3)


def test_unreadable_files_name_the_file(tmp_path, face_examples):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(face_examples.path("examples/obama_small.jpg").read_bytes()[:2000])
    for path in (text, truncated, tmp_path / "missing.png"):
        with pytest.raises(ImageReadError, match=path.name):
            load_image_rgb(path)
