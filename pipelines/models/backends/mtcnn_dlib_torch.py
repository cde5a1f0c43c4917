"""Faces: MTCNN + dlib alignment + the torch port of dlib's ResNet (:mod:`pipelines.faces.dlib_resnet_torch`,
the same weights read from dlib's ``.dat`` file, descriptors equal to dlib's within 1e-4). Runs the
descriptor on the GPU; the default face back-end on CUDA machines.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from pipelines.models.backends.mtcnn_dlib import FaceSettings, face_weights_missing
from pipelines.models.base import BackendSettings, Device, Embedder, FaceBackend


class TorchFaceSettings(FaceSettings):
    embed_batch_size: int = Field(64, ge=1, le=4096, description="face chips per descriptor batch")


class TorchResnetEmbedder:
    """The torch port of dlib's ResNet on ``device``."""

    def __init__(self, device: str, batch_size: int) -> None:
        from pipelines.faces.models import load_torch_resnet

        self._net = load_torch_resnet(device)
        self._batch = batch_size

    def embed(self, chips: list[np.ndarray]) -> list[np.ndarray]:
        if not chips:
            return []
        from pipelines.faces.dlib_resnet_torch import embed_chips

        return list(embed_chips(self._net, chips, batch_size=self._batch))


class MtcnnDlibTorch(FaceBackend):
    key: ClassVar[str] = "mtcnn-dlib-torch"
    description: ClassVar[str] = "MTCNN + dlib 5-point alignment + torch port of the dlib ResNet (GPU or CPU)"
    devices: ClassVar[tuple[Device, ...]] = ("cpu", "cuda")
    default_on: ClassVar[tuple[Device, ...]] = ("cuda",)
    aliases: ClassVar[tuple[str, ...]] = ("torch",)
    Settings: ClassVar[type[BackendSettings]] = TorchFaceSettings

    @classmethod
    def missing(cls) -> str | None:
        return face_weights_missing()

    def embedder(self) -> Embedder:
        s = self.settings
        assert isinstance(s, TorchFaceSettings)
        return TorchResnetEmbedder(self.device, s.embed_batch_size)
