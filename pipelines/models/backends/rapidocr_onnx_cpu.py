"""Plate OCR: RapidOCR's PP-OCRv6 small detector and recogniser on ONNX Runtime's CPU provider.

The weights ship inside the ``rapidocr`` wheel (:mod:`pipelines.plates.engine`); nothing is
downloaded. The default plate back-end on CPU machines, and on GPU machines whose onnxruntime
has no CUDA provider.
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

from pydantic import Field

from pipelines.models.base import BackendSettings, Device, PlateBackend


class RapidOcrSettings(BackendSettings):
    det_limit_side: int = Field(
        960,
        ge=320,
        le=4096,
        description="longest side the text detector sees on stills (video frames use 640)",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="ONNX Runtime intra-op threads (None: the frame processor's, else one per core)",
    )


class RapidOcrOnnxCpu(PlateBackend):
    key: ClassVar[str] = "rapidocr-onnx-cpu"
    description: ClassVar[str] = "RapidOCR PP-OCRv6 small det+rec, ONNX Runtime CPU provider"
    devices: ClassVar[tuple[Device, ...]] = ("cpu",)
    default_on: ClassVar[tuple[Device, ...]] = ("cpu",)
    Settings: ClassVar[type[BackendSettings]] = RapidOcrSettings
    #: ONNX Runtime execution provider the engine is built with
    provider: ClassVar[str] = "cpu"

    @classmethod
    def missing(cls) -> str | None:
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed"
        from pipelines.plates.engine import DET_MODEL, REC_MODEL, model_dir

        try:
            models = model_dir()
        except RuntimeError as exc:
            return str(exc)
        absent = [name for name in (DET_MODEL, REC_MODEL) if not (models / name).is_file()]
        return f"RapidOCR model files missing in {models}: {', '.join(absent)}" if absent else None

    def engine(self, threads: int | None = None) -> Any:
        from pipelines.plates.engine import load_engine

        s = self.settings
        assert isinstance(s, RapidOcrSettings)
        return load_engine(self.provider, threads or s.threads, s.det_limit_side)
