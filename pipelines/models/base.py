"""What a model back-end declares: its key, the task it serves, the devices it runs on, its settings.

A back-end is a class in its own module under :mod:`pipelines.models.backends` (the registry finds
it there, in the manner of Frigate's detector plugins). It declares:

- ``key``: the name users pick it by (``pesquisa models list``, the ``models`` settings section);
- ``task``: ``"plates"`` (a plate reader's OCR engine), ``"faces"`` (face detection + descriptor)
  or ``"plate_second"`` (the second plate recogniser asked where the OCR's read is weak);
- ``devices``: where it runs (``"cpu"``, ``"cuda"``) and ``default_on``: the devices it is the
  default on;
- ``Settings``: a pydantic model of its options (defaults, bounds, a description per field,
  unknown keys refused), in the style of :mod:`lakehouse.settings`;
- ``missing()``: why it cannot run on this machine (a package, a weight file or a provider is
  missing), or None when it can. It must be cheap and must not load a model.

Instances are made for one device with validated settings; the task's base class says what they
build (:class:`PlateBackend.engine`, :class:`FaceBackend.embedder`). Heavy libraries are imported
inside methods, so discovering every back-end costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

Device = Literal["cpu", "cuda"]
Task = Literal["plates", "faces", "plate_second"]
TASKS: tuple[Task, ...] = ("plates", "faces", "plate_second")


class BackendError(ValueError):
    """A back-end that cannot be chosen: unknown key, wrong task, unsupported device, bad settings."""


class UnknownBackendError(BackendError):
    """No back-end has this key."""


class BackendUnavailableError(BackendError):
    """The back-end exists but cannot run here (device, package, weights or provider missing)."""


class BackendSettings(BaseModel):
    """Options of a back-end (subclass per back-end; no options by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelBackend:
    """Base of every back-end: declarations plus ``device`` and validated ``settings``."""

    key: ClassVar[str] = ""
    task: ClassVar[Task]
    description: ClassVar[str] = ""
    devices: ClassVar[tuple[Device, ...]] = ("cpu",)
    default_on: ClassVar[tuple[Device, ...]] = ()
    #: older names of the back-end still accepted (e.g. FaceAnalyzer's ``embed_backend="dlib"``)
    aliases: ClassVar[tuple[str, ...]] = ()
    Settings: ClassVar[type[BackendSettings]] = BackendSettings

    def __init__(self, device: Device, settings: BackendSettings | Mapping[str, Any] | None = None) -> None:
        if device not in self.devices:
            raise BackendUnavailableError(
                f"model back-end {self.key!r} runs on {', '.join(self.devices)}, not on {device}"
            )
        self.device: Device = device
        self.settings = self.validate_settings(settings)

    @classmethod
    def validate_settings(cls, settings: BackendSettings | Mapping[str, Any] | None) -> BackendSettings:
        if isinstance(settings, cls.Settings):
            return settings
        try:
            return cls.Settings.model_validate(dict(settings or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            raise BackendError(f"invalid settings for model back-end {cls.key!r}: {problems}") from None

    @classmethod
    def missing(cls) -> str | None:
        """Why the back-end cannot run on this machine, or None when it can."""
        return None

    @classmethod
    def supports(cls, device: str) -> bool:
        return device in cls.devices

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r}, device={self.device!r})"


class PlateBackend(ModelBackend):
    """A plate reader's OCR engine (text detection + recognition with per-character probabilities)."""

    task: ClassVar[Task] = "plates"

    def engine(self, threads: int | None = None) -> Any:
        """The :class:`pipelines.plates.engine.OcrEngine` (one per process and configuration)."""
        raise NotImplementedError


class SecondPlateBackend(ModelBackend):
    """A second plate recogniser (line crops -> per-timestep probabilities over ``A-Z0-9``), asked
    by the plate reader where its OCR's read is weak (:mod:`pipelines.plates.second.hook`)."""

    task: ClassVar[Task] = "plate_second"

    def recogniser(self) -> Any:
        """An object with ``recognize(crops) -> list[LineText]`` (one per process and device)."""
        raise NotImplementedError


class Embedder(Protocol):
    """Turns aligned 150x150 RGB face chips into 128-d descriptors."""

    def embed(self, chips: list[np.ndarray]) -> list[np.ndarray]: ...


class FaceBackend(ModelBackend):
    """Face detection (MTCNN) plus a 128-d descriptor network: :meth:`embedder` differs per back-end."""

    task: ClassVar[Task] = "faces"

    def embedder(self) -> Embedder:
        raise NotImplementedError
