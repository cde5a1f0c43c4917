"""Faces: MTCNN detection (facenet-pytorch, torch) + dlib 5-point alignment + dlib's ResNet descriptor.

dlib-bin is built without CUDA, so the descriptor always runs on the CPU (MTCNN follows the
device). The default face back-end on CPU machines.
"""

from __future__ import annotations

import importlib.util
from typing import ClassVar

import numpy as np
from pydantic import Field

from pipelines.models.base import BackendSettings, Device, Embedder, FaceBackend


class FaceSettings(BackendSettings):
    mtcnn_batch_size: int | None = Field(
        None, ge=1, le=256, description="frames per MTCNN batch (None: 16 on CUDA, 4 on CPU)"
    )


def face_weights_missing() -> str | None:
    """Why MTCNN or dlib's weights cannot be loaded here, or None (cheap: files only)."""
    from pipelines.faces.models import (
        DLIB_RESNET,
        DLIB_SHAPE_5,
        FaceModelError,
        dlib_model_path,
        mtcnn_weight_paths,
    )

    for package in ("torch", "facenet_pytorch", "dlib"):
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed"
    try:
        mtcnn_weight_paths()
        dlib_model_path(DLIB_SHAPE_5)
        dlib_model_path(DLIB_RESNET)
    except FaceModelError as exc:
        return str(exc)
    return None


class DlibEmbedder:
    """dlib's own ResNet (CPU)."""

    def __init__(self) -> None:
        from pipelines.faces.models import load_dlib

        self._net = load_dlib().face_rec

    def embed(self, chips: list[np.ndarray]) -> list[np.ndarray]:
        if not chips:
            return []
        return [np.asarray(v, dtype=np.float32) for v in self._net.compute_face_descriptor(chips)]


class MtcnnDlib(FaceBackend):
    key: ClassVar[str] = "mtcnn-dlib"
    description: ClassVar[str] = "MTCNN + dlib 5-point alignment + dlib ResNet 128-d descriptor (dlib on CPU)"
    devices: ClassVar[tuple[Device, ...]] = ("cpu", "cuda")
    default_on: ClassVar[tuple[Device, ...]] = ("cpu",)
    aliases: ClassVar[tuple[str, ...]] = ("dlib",)
    Settings: ClassVar[type[BackendSettings]] = FaceSettings

    @classmethod
    def missing(cls) -> str | None:
        return face_weights_missing()

    def embedder(self) -> Embedder:
        return DlibEmbedder()
