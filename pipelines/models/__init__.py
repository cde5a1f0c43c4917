"""Model back-ends: which plate reader and which face models run, picked by key.

Each back-end is one module in :mod:`pipelines.models.backends` declaring its key, task, devices,
settings and what it needs (:mod:`pipelines.models.base`); :mod:`pipelines.models.registry`
discovers them. The frame processor, the plate reader and the face analyzer ask here:

    plate_backend(key=None, device="auto").engine(threads)   # OCR engine for PlateReader
    face_backend(key=None, device="auto").embedder()         # descriptor net for FaceAnalyzer

The second plate recogniser (task ``plate_second``, :mod:`pipelines.plates.second`) is picked the
same way: ``select("plate_second", None, device).recogniser()``.

``key=None`` takes the ``models.plates`` / ``models.faces`` setting (``auto``: the default for the
device: CPU -> ``rapidocr-onnx-cpu`` + ``mtcnn-dlib``; CUDA -> ``rapidocr-onnx-cuda`` (when
onnxruntime has the CUDA provider) + ``mtcnn-dlib-torch``). ``pesquisa models list`` shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.models.base import (
    BackendError,
    BackendSettings,
    BackendUnavailableError,
    Embedder,
    FaceBackend,
    ModelBackend,
    PlateBackend,
    SecondPlateBackend,
    UnknownBackendError,
)
from pipelines.models.registry import (
    BackendStatus,
    check_choice,
    configured_key,
    default_key,
    get_backend,
    list_backends,
    select,
    status,
)

__all__ = [
    "BackendError",
    "BackendSettings",
    "BackendStatus",
    "BackendUnavailableError",
    "Embedder",
    "FaceBackend",
    "ModelBackend",
    "PlateBackend",
    "SecondPlateBackend",
    "UnknownBackendError",
    "list_backends",
    "check_choice",
    "configured_key",
    "default_key",
    "face_backend",
    "get_backend",
    "plate_backend",
    "select",
    "status",
]


def plate_backend(
    key: str | None = None, device: str = "auto", options: Mapping[str, Mapping[str, Any]] | None = None
) -> PlateBackend:
    """The plate back-end ``key`` (None: the ``models.plates`` setting) for ``device``; ``options``:
    a ``models.options`` section (None: this process's settings)."""
    chosen = select("plates", key or configured_key("plates"), device, options=options)
    assert isinstance(chosen, PlateBackend)
    return chosen


def face_backend(
    key: str | None = None, device: str = "auto", options: Mapping[str, Mapping[str, Any]] | None = None
) -> FaceBackend:
    """The face back-end ``key`` (None: the ``models.faces`` setting) for ``device``; ``options``:
    a ``models.options`` section (None: this process's settings)."""
    chosen = select("faces", key or configured_key("faces"), device, options=options)
    assert isinstance(chosen, FaceBackend)
    return chosen
