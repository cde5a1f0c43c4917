"""analyze_batch batches MTCNN over same-size frames and agrees with analyze; probe; empty frames;
CPU time per 720p frame."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pipelines.faces import load_image_rgb


def test_batch_matches_single(face_examples, analyzer):
    frame = load_image_rgb(face_examples.path("examples/obama-720p.jpg"))
    other = load_image_rgb(face_examples.path("examples/two_people.jpg"))  # a different size
    flipped = np.ascontiguousarray(frame[:, ::-1])
    blank = np.full_like(frame, 127)
    batch = analyzer.analyze_batch([frame, other, flipped, blank, frame])
    assert [len(faces) for faces in batch] == [1, 2, 1, 0, 1]
    for image, faces in zip([frame, other, flipped], batch, strict=False):
        single = analyzer.analyze(image)
        assert len(single) == len(faces)
        for a, b in zip(single, faces, strict=True):
            assert np.allclose(a.bbox, b.bbox, atol=1.0)
            assert np.linalg.norm(a.embedding - b.embedding) < 0.02
    # the mirrored frame's face box is the mirror of the original's
    x1, _, x2, _ = batch[0][0].bbox
    fx1, _, fx2, _ = batch[2][0].bbox
    assert abs((frame.shape[1] - x2) - fx1) < 6 and abs((frame.shape[1] - x1) - fx2) < 6
    assert analyzer.analyze_batch([]) == []


def test_probe_picks_largest_good_face(face_examples, analyzer):
    image = load_image_rgb(face_examples.path("examples/knn_examples/test/obama_and_biden.jpg"))
    faces = analyzer.analyze(image)
    probe = analyzer.probe(image)
    good = [f for f in faces if f.quality >= analyzer.quality_floor]
    best = max(good, key=lambda f: f.area)
    # probe detects on a 1280 px copy, so boxes agree to a few pixels, embeddings closely
    assert np.allclose(probe.bbox, best.bbox, atol=8)
    assert np.linalg.norm(probe.embedding - best.embedding) < 0.1
    assert analyzer.probe(np.zeros((200, 300, 3), np.uint8)) is None
    assert analyzer.model_version.startswith("faces-mtcnn-dlibresnet")


def test_cpu_time_per_720p_frame(face_examples, analyzer):
    """Detect + align + quality + embed on a 1280x720 frame with one face, one torch thread.

    Asserts on process CPU time, which a busy shared machine inflates far less than wall time."""
    frame = load_image_rgb(face_examples.path("examples/obama-720p.jpg"))
    assert frame.shape == (720, 1280, 3)
    analyzer.analyze(frame)  # warm-up
    wall, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        faces = analyzer.analyze(frame)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"\nCPU analyze per 720p frame (1 face, 1 torch thread): median CPU {np.median(cpu) * 1000:.0f} ms, "
        f"median wall {np.median(wall) * 1000:.0f} ms"
    )
    assert len(faces) == 1
    assert float(np.median(cpu)) < 1.0  # ~0.3 s


def test_degenerate_inputs(analyzer):
    tiny = [np.zeros((h, w, 3), np.uint8) for h, w in ((1, 1), (10, 10), (19, 40), (20, 20))]
    assert analyzer.analyze_batch([*tiny, np.zeros((64, 64), np.uint8)]) == [[]] * 5
    assert analyzer.probe(np.zeros((10, 10, 3), np.uint8)) is None
    with pytest.raises(ValueError, match="shape"):
        analyzer.analyze(np.zeros((0, 5, 3), np.uint8))
