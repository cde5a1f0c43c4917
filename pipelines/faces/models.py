"""The one place the face models are loaded: MTCNN (facenet-pytorch weights) and dlib's 5-point shape
predictor + ResNet face descriptor (face_recognition_models weights).

Every weight file ships inside an installed package; nothing is downloaded. ``face_recognition_models``
imports ``pkg_resources`` (gone from current setuptools), so its folder is located with
``importlib.util.find_spec`` instead of importing it. Loaded models are cached per process (and per
device for torch models); heavy imports happen inside the functions.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DLIB_SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
DLIB_RESNET = "dlib_face_recognition_resnet_model_v1.dat"
MTCNN_FILES = ("pnet.pt", "rnet.pt", "onet.pt")

_lock = threading.Lock()


class FaceModelError(RuntimeError):
    """A face model's weights are missing or cannot be loaded."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelError(f"package {name!r} is not installed (it ships the face model weights)")
    return Path(next(iter(spec.submodule_search_locations)))


def dlib_model_path(filename: str) -> Path:
    """Path of a ``.dat`` file shipped in ``face_recognition_models`` (without importing it)."""
    path = _package_dir("face_recognition_models") / "models" / filename
    if not path.is_file():
        raise FaceModelError(f"{path} is missing; reinstall face_recognition_models==0.3.0")
    return path


def mtcnn_weight_paths() -> list[Path]:
    """The three MTCNN state dicts shipped in ``facenet-pytorch``."""
    data = _package_dir("facenet_pytorch") / "data"
    paths = [data / f for f in MTCNN_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FaceModelError(f"MTCNN weights missing: {missing}; reinstall facenet-pytorch==2.6.0 --no-deps")
    return paths


@dataclass(frozen=True)
class DlibModels:
    shape_predictor: Any  # dlib.shape_predictor (5 points)
    face_rec: Any  # dlib.face_recognition_model_v1


@functools.cache
def load_dlib() -> DlibModels:
    """dlib's 5-point shape predictor and ResNet face descriptor (CPU; dlib-bin has no CUDA)."""
    import dlib

    with _lock:
        return DlibModels(
            shape_predictor=dlib.shape_predictor(str(dlib_model_path(DLIB_SHAPE_5))),
            face_rec=dlib.face_recognition_model_v1(str(dlib_model_path(DLIB_RESNET))),
        )


@functools.cache
def load_mtcnn(device: str, min_face_px: int, thresholds: tuple[float, float, float]) -> Any:
    """facenet-pytorch's MTCNN (P/R/O-Net) in eval mode on ``device``; returns all faces, unsorted."""
    mtcnn_weight_paths()  # clear error before facenet-pytorch's own loader fails obscurely
    import torch
    from facenet_pytorch.models.mtcnn import MTCNN

    with _lock:
        model = MTCNN(
            min_face_size=min_face_px,
            thresholds=list(thresholds),
            keep_all=True,
            select_largest=False,
            device=torch.device(device),
        )
    return model.eval()


@functools.cache
def load_torch_resnet(device: str) -> Any:
    """The torch port of dlib's ResNet, loaded from the same ``.dat`` weights (the CUDA path)."""
    from pipelines.faces.dlib_resnet_torch import load_dlib_resnet

    return load_dlib_resnet(dlib_model_path(DLIB_RESNET), device=device)
