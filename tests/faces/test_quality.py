"""Quality score: tiny and blurred faces score under the floor, the sharp large face well above it;
the pose cue is low for a turned head."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipelines.faces import load_image_rgb
from pipelines.faces.quality import pose_score


@pytest.fixture(scope="module")
def frame(face_examples) -> np.ndarray:
    return load_image_rgb(face_examples.path("examples/obama-720p.jpg"))


def _only_face(analyzer, image):
    faces = analyzer.analyze(image)
    assert len(faces) == 1, [f.bbox for f in faces]
    return faces[0]


def test_sharp_large_face_scores_high(analyzer, frame):
    face = _only_face(analyzer, frame)
    assert face.quality > 0.85
    assert face.quality >= analyzer.quality_floor
    assert 0.0 <= face.quality <= 1.0
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert face.crop.shape == (150, 150, 3) and face.crop.dtype == np.uint8
    assert face.landmarks.shape == (5, 2)


def test_blurred_face_scores_below_floor(analyzer, frame):
    sharp = _only_face(analyzer, frame)
    mild = _only_face(analyzer, cv2.GaussianBlur(frame, (0, 0), 2))
    heavy = _only_face(analyzer, cv2.GaussianBlur(frame, (0, 0), 8))  # the descriptor no longer identifies
    assert heavy.quality_parts.sharpness < 0.1 < mild.quality_parts.sharpness
    assert heavy.quality < analyzer.quality_floor < mild.quality < sharp.quality


def _shrunk(frame: np.ndarray, factor: float) -> np.ndarray:
    small = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    canvas = np.full_like(frame, 120)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    return canvas


def test_tiny_face_scores_below_floor(analyzer, frame):
    sharp = _only_face(analyzer, frame)
    tiny = _only_face(analyzer, _shrunk(frame, 0.1))  # a ~17 px face: still detected
    small = _only_face(analyzer, _shrunk(frame, 0.13))  # a ~23 px face: still identifies
    assert np.sqrt(tiny.area) < 19 < np.sqrt(small.area) < 30
    assert tiny.quality < analyzer.quality_floor < small.quality < sharp.quality
    assert np.linalg.norm(small.embedding - sharp.embedding) < 0.4


def test_pose_cue():
    frontal = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], np.float32)
    turned = frontal.copy()
    turned[2, 0] = 68  # nose beside the right eye: a near-profile
    rolled = frontal @ np.array([[0.8, -0.6], [0.6, 0.8]], np.float32)  # in-plane rotation only
    assert pose_score(frontal) > 0.95
    assert pose_score(rolled) == pytest.approx(pose_score(frontal), abs=1e-4)
    assert pose_score(turned) < 0.2
