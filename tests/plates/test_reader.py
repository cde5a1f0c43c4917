"""The plate reader with the real RapidOCR models on generated plates (Mercosur, two-row, crops)."""

from __future__ import annotations

import socket
import time

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.plates import MODEL_VERSION, PlateRead, PlateReader
from pipelines.plates.engine import OcrEngine, model_dir

MERCOSUR = ["AR", "BR", "PY", "UY", "PE", "SV"]


def render_plate(rows: list[str], band: str | None, w: int, h: int) -> np.ndarray:
    """A white plate with a blue country band and dark characters (RGB)."""
    img = Image.new("RGB", (w, h), (240, 240, 236))
    d = ImageDraw.Draw(img)
    top = 0
    if band:
        bh = int(h * 0.22)
        d.rectangle([0, 0, w, bh], fill=(30, 60, 150))
        d.text(
            (w // 2, bh // 2),
            band,
            font=ImageFont.load_default(size=int(bh * 0.7)),
            fill=(250, 250, 250),
            anchor="mm",
        )
        top = bh
    rh = (h - top) / len(rows)
    for i, r in enumerate(rows):
        d.text(
            (w // 2, top + rh * (i + 0.5)),
            r,
            font=ImageFont.load_default(size=int(rh * 0.8)),
            fill=(20, 20, 20),
            anchor="mm",
            stroke_width=max(1, int(rh * 0.03)),
            stroke_fill=(20, 20, 20),
        )
    d.rectangle([0, 0, w - 1, h - 1], outline=(40, 40, 40), width=2)
    return np.asarray(img)


def street_frame(plate: np.ndarray, at: tuple[int, int] = (600, 450), seed: int = 0) -> np.ndarray:
    """A 1280x720 textured frame with the plate pasted at ``at`` and a white-on-dark sign."""
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.normal(110, 25, (720, 1280, 3)).clip(0, 255).astype(np.uint8), (7, 7), 0)
    x, y = at
    frame[y : y + plate.shape[0], x : x + plate.shape[1]] = plate
    cv2.rectangle(frame, (80, 100), (420, 170), (20, 90, 30), -1)
    cv2.putText(frame, "PARKING 24H", (95, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 3)
    return frame


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(formats=MERCOSUR, device="cpu")


def check_read(r: PlateRead, text: str, fmt: str) -> None:
    assert r.text == text and r.plate_format == fmt
    assert 0.5 < r.score <= 1.0
    assert r.candidates[0] == (text, pytest.approx(r.score))
    assert len({t for t, _ in r.candidates}) == len(r.candidates) <= 5
    assert len(r.char_confidences) == len(text) and all(0 < c <= 1 for c in r.char_confidences)


def test_reads_an_argentine_plate_in_a_street_frame_and_nothing_else(reader):
    frame = street_frame(render_plate(["AB 123 CD"], "REPUBLICA ARGENTINA", 260, 85))
    reads = reader.read(frame)
    assert len(reads) == 1, [(r.text, r.score) for r in reads]
    check_read(reads[0], "AB123CD", "AR")
    x1, y1, x2, y2 = reads[0].bbox
    assert 590 <= x1 < x2 <= 870 and 450 <= y1 < y2 <= 540  # the plate's characters, not the band
    assert "ARGENTINA" not in reads[0].raw


def test_reads_paraguay_and_a_two_row_brazilian_plate(reader):
    frame = street_frame(render_plate(["ABCD 123"], "PARAGUAY", 200, 65), at=(200, 400), seed=1)
    frame[450:560, 900:1050] = render_plate(["ABC", "1D23"], "BRASIL", 150, 110)
    reads = {r.text: r for r in reader.read(frame)}
    assert set(reads) == {"ABCD123", "ABC1D23"}
    check_read(reads["ABCD123"], "ABCD123", "PY")
    check_read(reads["ABC1D23"], "ABC1D23", "BR")
    assert reads["ABC1D23"].raw == "ABC / 1D23"  # top row first


def test_read_crop_one_and_two_rows(reader):
    one = reader.read_crop(render_plate(["AB 123 CD"], "REPUBLICA ARGENTINA", 260, 85))
    assert one is not None
    check_read(one, "AB123CD", "AR")
    assert one.bbox == (0.0, 0.0, 260.0, 85.0)
    two = reader.read_crop(render_plate(["ABC", "1D23"], "BRASIL", 150, 110))
    assert two is not None and (two.text, two.plate_format) == ("ABC1D23", "BR")
    assert reader.read_crop(np.full((40, 120, 3), 200, np.uint8)) is None


def test_timing_is_in_the_expected_range(reader):
    """Not a benchmark (the CI machine is shared, so CPU time, not wall time): catches an
    order-of-magnitude slowdown. Idle 2-core wall time is ~150-300 ms per frame, ~20-40 ms per crop."""
    frame = street_frame(render_plate(["AB 123 CD"], "REPUBLICA ARGENTINA", 260, 85))
    crop = render_plate(["AB 123 CD"], None, 260, 60)
    reader.read(frame)
    t0 = time.process_time()
    for _ in range(3):
        reader.read(frame)
    frame_ms = (time.process_time() - t0) / 3 * 1000
    t0 = time.process_time()
    for _ in range(5):
        reader.read_crop(crop)
    crop_ms = (time.process_time() - t0) / 5 * 1000
    print(f"CPU time: read 1280x720 {frame_ms:.0f} ms, read_crop {crop_ms:.0f} ms")
    assert frame_ms < 3000 and crop_ms < 600


def test_blank_frames_and_bad_input(reader):
    assert reader.read(np.full((720, 1280, 3), 128, np.uint8)) == []
    assert reader.read(np.full((720, 1280), 128, np.uint8)) == []  # grayscale accepted
    with pytest.raises(TypeError):
        reader.read(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError):
        reader.read(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(ValueError, match="unknown plate format"):
        PlateReader(formats=["XX"])


def test_models_ship_in_the_package_and_nothing_is_downloaded(monkeypatch):
    """A fresh engine loads and reads with every network connection refused."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    engine = OcrEngine(device="cpu")
    assert engine.device == "cpu"
    assert str(model_dir()) in str(engine.ocr.cfg.Det.model_path)
    assert "site-packages" in str(model_dir()) or "dist-packages" in str(model_dir())
    reader = PlateReader(formats=["AR"], engine=engine)
    assert reader.read_crop(render_plate(["AB 123 CD"], None, 260, 60)).text == "AB123CD"
    assert reader.model_version == MODEL_VERSION and MODEL_VERSION.startswith("plates-rapidocr3.10")
