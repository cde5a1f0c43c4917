"""Plate OCR on the GPU: the same RapidOCR models and engine as ``rapidocr-onnx-cpu``, built with ONNX
Runtime's CUDA execution provider. Available only where onnxruntime lists ``CUDAExecutionProvider``
(the ``onnxruntime-gpu`` wheel with its CUDA libraries); the default plate back-end there.
"""

from __future__ import annotations

from typing import ClassVar

from pipelines.models.backends.rapidocr_onnx_cpu import RapidOcrOnnxCpu
from pipelines.models.base import Device


class RapidOcrOnnxCuda(RapidOcrOnnxCpu):
    key: ClassVar[str] = "rapidocr-onnx-cuda"
    description: ClassVar[str] = "RapidOCR PP-OCRv6 small det+rec, ONNX Runtime CUDA provider"
    devices: ClassVar[tuple[Device, ...]] = ("cuda",)
    default_on: ClassVar[tuple[Device, ...]] = ("cuda",)
    provider: ClassVar[str] = "cuda"

    @classmethod
    def missing(cls) -> str | None:
        base = super().missing()
        if base is not None:
            return base
        from pipelines.device import onnx_cuda_provider

        if not onnx_cuda_provider():
            import onnxruntime as ort

            return f"onnxruntime lists no CUDAExecutionProvider (it has {', '.join(ort.get_available_providers())})"
        return None
