"""The second plate recogniser: the project's own CRNN (torch), trained on synthetic plates.

Weights are committed (``pipelines/plates/second/weights/plate_crnn.pt``, rebuilt by
``make train-plates``); nothing is downloaded. Runs on CUDA when present, else on the CPU. Asked
by the plate reader only where RapidOCR's read is weak, and only when ``plates.second_recogniser``
is on (:mod:`pipelines.plates.second.hook`).
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

from pipelines.models.base import Device, SecondPlateBackend


class PlateCrnnTorch(SecondPlateBackend):
    key: ClassVar[str] = "plate-crnn-torch"
    description: ClassVar[str] = "the project's plate CRNN (torch, CTC, trained on synthetic plates)"
    devices: ClassVar[tuple[Device, ...]] = ("cpu", "cuda")
    default_on: ClassVar[tuple[Device, ...]] = ("cpu", "cuda")

    @classmethod
    def missing(cls) -> str | None:
        if importlib.util.find_spec("torch") is None:
            return "torch is not installed"
        from pipelines.plates.second import missing_weights

        return missing_weights()

    def recogniser(self) -> Any:
        from pipelines.plates.second.infer import load_recogniser

        return load_recogniser(self.device)
