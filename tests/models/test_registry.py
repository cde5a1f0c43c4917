"""The model back-end registry: discovery, choice by key or by device default, readable refusals,
settings validation, and ``pesquisa models list``. The CPU back-ends build real models here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jobs.cli import main
from pipelines import models
from pipelines.device import onnx_cuda_provider, torch_device
from pipelines.models import BackendError, BackendUnavailableError, UnknownBackendError

CPU_KEYS = {"rapidocr-onnx-cpu", "mtcnn-dlib", "mtcnn-dlib-torch", "plate-crnn-torch"}
ALL_KEYS = CPU_KEYS | {"rapidocr-onnx-cuda"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home whose settings the registry reads (no device forced)."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("PESQUISA_HOME", str(h))
    monkeypatch.delenv("PESQUISA_DEVICE", raising=False)
    for name in [n for n in __import__("os").environ if n.startswith("PESQUISA__")]:
        monkeypatch.delenv(name)
    return h


def test_the_registry_discovers_every_backend_module_with_its_declarations():
    found = {b.key: b for b in models.list_backends()}
    assert set(found) == ALL_KEYS
    assert {b.key for b in models.list_backends("plates")} == {"rapidocr-onnx-cpu", "rapidocr-onnx-cuda"}
    assert found["rapidocr-onnx-cpu"].devices == ("cpu",) and found["rapidocr-onnx-cuda"].devices == ("cuda",)
    assert set(found["mtcnn-dlib-torch"].devices) == {"cpu", "cuda"}
    for key in CPU_KEYS:  # installed packages, shipped weights: runnable here
        assert found[key].missing() is None, (key, found[key].missing())
    for b in found.values():
        assert b.description and b.Settings.model_config.get("extra") == "forbid"


def test_defaults_per_device():
    assert models.default_key("plates", "cpu") == "rapidocr-onnx-cpu"
    assert models.default_key("faces", "cpu") == "mtcnn-dlib"
    assert models.default_key("plate_second", "cpu") == "plate-crnn-torch"
    assert models.default_key("faces", "cuda") == "mtcnn-dlib-torch"  # the torch port on GPU
    cuda_ocr = "rapidocr-onnx-cuda" if onnx_cuda_provider() else "rapidocr-onnx-cpu"
    assert models.default_key("plates", "cuda") == cuda_ocr


def test_picks_by_key_and_by_old_alias(home):
    b = models.select("plates", "rapidocr-onnx-cpu", "cpu")
    assert b.key == "rapidocr-onnx-cpu" and b.device == "cpu"
    assert models.select("faces", "mtcnn-dlib-torch", "cpu").key == "mtcnn-dlib-torch"
    assert models.select("faces", "dlib", "cpu").key == "mtcnn-dlib"  # FaceAnalyzer(embed_backend="dlib")
    assert models.select("faces", "torch", "cpu").key == "mtcnn-dlib-torch"
    assert models.plate_backend(None, "cpu").key == "rapidocr-onnx-cpu"  # settings: auto
    assert models.face_backend("auto", "cpu").key == "mtcnn-dlib"


def test_an_unknown_key_is_refused_with_the_known_ones():
    with pytest.raises(
        UnknownBackendError, match=r"unknown plates model back-end 'tesseract'.*rapidocr-onnx-cpu"
    ):
        models.select("plates", "tesseract", "cpu")
    with pytest.raises(UnknownBackendError, match="unknown faces model back-end 'rapidocr-onnx-cpu'"):
        models.select("faces", "rapidocr-onnx-cpu", "cpu")  # a key of the other task
    assert issubclass(UnknownBackendError, ValueError)


def test_cuda_backends_are_reported_unavailable_without_the_cuda_provider(home):
    row = next(r for r in models.status("cpu") if r.key == "rapidocr-onnx-cuda")
    if onnx_cuda_provider():  # a GPU machine with onnxruntime-gpu
        assert row.available and row.missing is None
        return
    assert not row.available and "CUDAExecutionProvider" in (row.missing or "")
    with pytest.raises(BackendUnavailableError, match="not available on this machine.*CUDAExecutionProvider"):
        models.select("plates", "rapidocr-onnx-cuda", "auto")
    if torch_device("auto") == "cpu":  # and no torch GPU either: a CUDA-only back-end cannot run
        with pytest.raises(RuntimeError, match="CUDA device was requested"):
            models.select("faces", "mtcnn-dlib-torch", "cuda")


def test_backend_settings_are_validated_with_readable_errors():
    b = models.select("plates", "rapidocr-onnx-cpu", "cpu", settings={"det_limit_side": 1280, "threads": 2})
    assert b.settings.det_limit_side == 1280  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match="rapidocr-onnx-cpu.*det_limit_side"):
        models.select("plates", "rapidocr-onnx-cpu", "cpu", settings={"det_limit_side": 10})
    with pytest.raises(BackendError, match="rapidocr-onnx-cpu.*batch"):
        models.select("plates", "rapidocr-onnx-cpu", "cpu", settings={"batch": 3})
    with pytest.raises(BackendUnavailableError, match="runs on cpu, not on cuda"):
        models.get_backend("rapidocr-onnx-cpu")("cuda")


def test_the_settings_file_picks_the_backend_and_its_options(home, tmp_path, monkeypatch):
    (home / "pesquisa.yaml").write_text(
        "models:\n  faces: dlib\n  options:\n    mtcnn-dlib:\n      mtcnn_batch_size: 2\n"
    )
    b = models.face_backend(None, "cpu")
    assert b.key == "mtcnn-dlib" and b.settings.mtcnn_batch_size == 2  # type: ignore[attr-defined]
    other = tmp_path / "other"  # settings are loaded once per home: a second home for the next file
    other.mkdir()
    (other / "pesquisa.yaml").write_text("models:\n  plates: tesseract\n")
    monkeypatch.setenv("PESQUISA_HOME", str(other))
    with pytest.raises(UnknownBackendError, match="tesseract"):
        models.plate_backend(None, "cpu")


def test_the_device_setting_forces_the_cpu(home, monkeypatch):
    monkeypatch.setenv("PESQUISA_DEVICE", "cpu")
    assert torch_device("auto") == "cpu" and torch_device("cuda") == "cpu"
    assert models.face_backend(None, "auto").device == "cpu"
    monkeypatch.delenv("PESQUISA_DEVICE")
    (home / "pesquisa.yaml").write_text("compute:\n  device: cpu\n")
    assert torch_device("cuda") == "cpu"


def test_models_list_shows_what_runs_here_and_the_defaults(home, capsys):
    assert main(["--home", str(home), "--json", "models", "list", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by = {r["key"]: r for r in rows}
    assert set(by) == ALL_KEYS
    assert by["rapidocr-onnx-cpu"]["default"] and by["rapidocr-onnx-cpu"]["selected"]
    assert by["mtcnn-dlib"]["default"] and not by["mtcnn-dlib-torch"]["default"]
    for task in ("plates", "faces"):
        assert sum(r["default"] for r in rows if r["task"] == task) == 1
        assert sum(r["selected"] for r in rows if r["task"] == task) == 1
    assert by["rapidocr-onnx-cuda"]["available"] is onnx_cuda_provider()
    assert "det_limit_side" in by["rapidocr-onnx-cpu"]["settings"]
    # text mode, and a settings file that names an unknown back-end: one readable error line
    assert main(["--home", str(home), "models", "list"]) == 0
    assert "rapidocr-onnx-cpu" in capsys.readouterr().out
    (home / "pesquisa.yaml").write_text("models:\n  faces: arcface\n")
    assert main(["--home", str(home), "models", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arcface" in err[0] and "mtcnn-dlib" in err[0]


def test_the_cpu_plate_backend_builds_a_working_reader(home):
    from pipelines.plates import PlateReader
    from pipelines.synth.plates import render_plate

    engine = models.plate_backend("rapidocr-onnx-cpu", "cpu").engine(threads=1)
    assert engine.device == "cpu"
    assert engine is models.plate_backend(None, "cpu").engine(threads=1)  # one load per process
    reader = PlateReader(formats=["PY"], backend="rapidocr-onnx-cpu", device="cpu")
    read = reader.read_crop(render_plate("ABCD123", "PY", 96))
    assert read is not None and read.text == "ABCD123"


def test_the_face_backends_build_their_descriptor_networks(home):
    rng = np.random.default_rng(0)
    chips = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)]
    a = models.face_backend("mtcnn-dlib", "cpu").embedder().embed(chips)
    b = models.face_backend("mtcnn-dlib-torch", "cpu").embedder().embed(chips)
    assert a[0].shape == b[0].shape == (128,)
    assert np.abs(a[0] - b[0]).max() < 1e-4  # the torch port computes dlib's descriptor
