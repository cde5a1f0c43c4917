"""Pick the compute device at run time: CUDA when present, CPU otherwise (the tested path).

The ``compute.device`` setting (``auto``/``cpu``/``cuda``; file ``HOME/pesquisa.yaml`` or the
environment, e.g. ``PESQUISA_DEVICE=cpu``, see :mod:`lakehouse.settings`) forces a choice over what
a caller asks for. Which model runs on the device is the model back-end registry's business
(:mod:`pipelines.models`). Nothing here imports torch at module import time.
"""

from __future__ import annotations

import functools


def configured_device() -> str:
    """``compute.device`` from the settings: ``"auto"``, ``"cpu"`` or ``"cuda"``."""
    from lakehouse.settings import get_settings

    return str(get_settings().compute.device)


@functools.cache
def _torch_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # torch missing or broken CUDA runtime: CPU
        return False


def cuda_available() -> bool:
    """A usable CUDA device, unless the settings force the CPU."""
    return configured_device() != "cpu" and _torch_cuda()


def torch_device(requested: str = "auto") -> str:
    """``"cuda"`` or ``"cpu"``. ``requested="cuda"`` without a GPU raises instead of hanging later."""
    forced = configured_device()
    requested = (requested or "auto").lower() if forced == "auto" else forced
    if requested == "cpu":
        return "cpu"
    if requested in ("cuda", "gpu"):
        if not cuda_available():
            raise RuntimeError("a CUDA device was requested but none is available")
        return "cuda"
    if requested != "auto":
        raise ValueError(f"unknown device {requested!r}: use auto, cpu or cuda")
    return "cuda" if cuda_available() else "cpu"


@functools.cache
def onnx_cuda_provider() -> bool:
    """True when onnxruntime lists the CUDA execution provider (onnxruntime-gpu with its CUDA libraries)."""
    try:
        import onnxruntime as ort

        return "CUDAExecutionProvider" in ort.get_available_providers()
    except Exception:
        return False


def gpu_count() -> int:
    if not cuda_available():
        return 0
    import torch

    return int(torch.cuda.device_count())
