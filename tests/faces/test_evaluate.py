"""The CCTV-degraded face evaluation: degraded stills have the intended face size, every face of a
degraded gallery is searchable (ranked, not hidden), and the small-face options are recorded in the
model version."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.faces import load_image_rgb
from pipelines.faces.enhance import SmallFaceOptions
from pipelines.faces.evaluate import CONDITIONS, Condition, degrade, evaluate, load_people


def test_degraded_still_has_the_face_size_asked_for(face_examples, analyzer):
    rel = "examples/knn_examples/train/biden/biden.jpg"
    im = load_image_rgb(face_examples.path(rel))
    face = analyzer.probe(im)
    still = degrade(
        im, float(np.sqrt(face.area)), Condition("t", 40, blur=1.0, dark=0.4, noise=3.0, jpeg=20), seed=1
    )
    assert min(still.shape[:2]) >= 200  # padded to a frame
    found = analyzer.analyze(still)
    assert found, "the 40 px face must still be detected"
    side = float(np.sqrt(max(found, key=lambda f: f.area).area))
    assert 28 <= side <= 56
    assert still.mean() < 0.75 * im.mean()  # low light (the padding replicates the darkened border)


def test_small_face_options_change_the_model_version(analyzer):
    from pipelines.faces import FaceAnalyzer

    opts = SmallFaceOptions(max_side_px=64, upscale_to=96, flip=True)
    a = FaceAnalyzer(device="cpu", small_faces=opts)
    assert a.model_version != FaceAnalyzer(device="cpu", small_faces=SmallFaceOptions()).model_version
    assert "up96" in a.model_version and "flip" in a.model_version


def test_load_people_drops_byte_identical_copies(face_examples):
    people = {p.identity: p.photos for p in load_people(face_examples.root)}
    assert len(people) == 6 and all(people.values())
    assert sum(len(v) for v in people.values()) == 19


@pytest.mark.slow
def test_one_still_gallery_plain_beats_hiding_and_finds_everyone_in_five(face_examples):
    res = evaluate(
        face_examples.root,
        rounds=1,
        conditions=[CONDITIONS[0], CONDITIONS[3]],
        variants={},
        log=lambda s: None,
    )
    t = res["table"]
    assert t["plain"]["all"]["n"] == t["before"]["all"]["n"] >= 20
    # hiding faces under the quality floor can only lose people
    assert t["before"]["all"]["hits@1"] <= t["plain"]["all"]["hits@1"]
    assert t["current"]["all"]["hits@5"] >= t["plain"]["all"]["hits@5"]
    assert t["current"]["all"]["recall@5"] >= 0.9
