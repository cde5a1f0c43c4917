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
    blurred = _only_face(analyzer, cv2.GaussianBlur(frame, (0, 0), 4))
    assert blurred.quality_parts.sharpness < 0.3 * sharp.quality_parts.sharpness
    assert blurred.quality < analyzer.quality_floor < sharp.quality


def test_tiny_face_scores_below_floor(analyzer, frame):
    sharp = _only_face(analyzer, frame)
    small = cv2.resize(frame, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)  # face ~28 px
    canvas = np.full_like(frame, 120)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    tiny = _only_face(analyzer, canvas)  # still detected: MTCNN's minimum face is 20 px
    assert (tiny.bbox[2] - tiny.bbox[0]) < 40
    assert tiny.quality < analyzer.quality_floor < sharp.quality
    # it is still the same person, only a weaker descriptor
    assert np.linalg.norm(tiny.embedding - sharp.embedding) < 0.5


def test_pose_cue():
    frontal = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], np.float32)
    turned = frontal.copy()
    turned[2, 0] = 68  # nose beside the right eye: a near-profile
    rolled = frontal @ np.array([[0.8, -0.6], [0.6, 0.8]], np.float32)  # in-plane rotation only
    assert pose_score(frontal) > 0.95
    assert pose_score(rolled) == pytest.approx(pose_score(frontal), abs=1e-4)
    assert pose_score(turned) < 0.2
