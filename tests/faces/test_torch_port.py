"""The torch port of dlib's face ResNet (the CUDA embedding path) reproduces dlib's descriptors on CPU."""

from __future__ import annotations

import numpy as np

from pipelines.faces import FaceAnalyzer, load_image_rgb
from pipelines.faces.dlib_resnet_torch import embed_chips, read_dlib_resnet
from pipelines.faces.models import DLIB_RESNET, dlib_model_path, load_dlib, load_torch_resnet


def test_weights_parse_to_the_published_architecture():
    w = read_dlib_resnet(dlib_model_path(DLIB_RESNET))
    assert np.allclose(w.input_means, (122.782, 117.001, 104.298), atol=1e-3)
    assert w.stem_conv.weight.shape == (32, 3, 7, 7) and w.stem_conv.stride == 2
    assert [b.conv1.weight.shape[0] for b in w.blocks] == [32] * 3 + [64] * 4 + [128] * 3 + [256] * 4
    assert [i for i, b in enumerate(w.blocks) if b.down] == [3, 7, 10, 13]
    assert w.fc.shape == (256, 128)


def test_torch_port_matches_dlib(face_examples, analyzer):
    chips = []
    for rel in ("examples/two_people.jpg", "examples/knn_examples/test/kit_with_rose.jpg"):
        chips += [f.crop for f in analyzer.analyze(load_image_rgb(face_examples.path(rel)))]
    rng = np.random.default_rng(0)
    chips.append(rng.integers(0, 256, (150, 150, 3), dtype=np.uint8))  # not a face: same maths
    ref = np.stack([np.asarray(v) for v in load_dlib().face_rec.compute_face_descriptor(chips)])
    got = embed_chips(load_torch_resnet("cpu"), chips)
    assert got.shape == (5, 128) and got.dtype == np.float32
    assert np.abs(got - ref).max() < 1e-4


def test_analyzer_torch_backend(face_examples, analyzer):
    torch_analyzer = FaceAnalyzer(device="cpu", embed_backend="torch")
    image = load_image_rgb(face_examples.path("examples/obama_small.jpg"))
    a, b = analyzer.probe(image), torch_analyzer.probe(image)
    assert torch_analyzer.model_version == analyzer.model_version  # same weights, same descriptors
    assert np.linalg.norm(a.embedding - b.embedding) < 1e-4
