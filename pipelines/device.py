"""Pick the compute device at run time: CUDA when present, CPU otherwise (the tested path).

``PESQUISA_DEVICE=cpu|cuda`` forces a choice. Nothing here imports torch at module import time.
"""

from __future__ import annotations

import functools
import os


@functools.cache
def cuda_available() -> bool:
    if os.environ.get("PESQUISA_DEVICE", "").lower() == "cpu":
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # torch missing or broken CUDA runtime: CPU
        return False


def torch_device(requested: str = "auto") -> str:
    """``"cuda"`` or ``"cpu"``. ``requested="cuda"`` without a GPU raises instead of hanging later."""
    forced = os.environ.get("PESQUISA_DEVICE", "").lower()
    requested = (forced or requested or "auto").lower()
    if requested == "cpu":
        return "cpu"
    if requested in ("cuda", "gpu"):
        if not cuda_available():
            raise RuntimeError("a CUDA device was requested but none is available")
        return "cuda"
    return "cuda" if cuda_available() else "cpu"


def onnx_providers(device: str = "auto") -> list[str]:
    """onnxruntime execution providers for the device, best first."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if torch_device(device) == "cuda" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def gpu_count() -> int:
    if not cuda_available():
        return 0
    import torch

    return int(torch.cuda.device_count())
