"""Find the model back-ends and pick one by key, or the default for a device.

Every module in :mod:`pipelines.models.backends` is imported (cheaply: back-ends import their
libraries only when they load a model) and every :class:`~pipelines.models.base.ModelBackend`
subclass with a ``key`` is registered. Adding a back-end is adding a module there; nothing else
changes (docs/ARCHITECTURE.md, "How to add a model back-end").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.models.base import (
    TASKS,
    BackendError,
    BackendSettings,
    BackendUnavailableError,
    Device,
    ModelBackend,
    Task,
    UnknownBackendError,
)

AUTO = "auto"


@functools.cache
def _discover() -> dict[str, type[ModelBackend]]:
    package = importlib.import_module("pipelines.models.backends")

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{info.name}")
    found: dict[str, type[ModelBackend]] = {}
    todo = list(ModelBackend.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if not cls.key or not cls.__module__.startswith(package.__name__ + "."):
            continue
        if cls.task not in TASKS:
            raise TypeError(f"model back-end {cls.key!r} declares unknown task {cls.task!r}")
        other = found.get(cls.key)
        if other is not None and other is not cls:
            raise TypeError(
                f"two model back-ends use the key {cls.key!r}: {other.__module__}, {cls.__module__}"
            )
        found[cls.key] = cls
    return dict(sorted(found.items()))


def list_backends(task: Task | None = None) -> list[type[ModelBackend]]:
    """Every registered back-end (of ``task``), by key."""
    return [b for b in _discover().values() if task is None or b.task == task]


def get_backend(key: str, task: Task | None = None) -> type[ModelBackend]:
    """The back-end class for ``key`` (or one of its aliases); a readable error for an unknown key."""
    reg = _discover()
    cls = reg.get(key) or next((b for b in reg.values() if key in b.aliases), None)
    if cls is None or (task is not None and cls.task != task):
        known = ", ".join(b.key for b in list_backends(task))
        what = f"{task} model back-end" if task else "model back-end"
        raise UnknownBackendError(f"unknown {what} {key!r}; known: {known} (see `pesquisa models list`)")
    return cls


def default_key(task: Task, device: Device) -> str:
    """The default back-end of ``task`` on ``device``: the one declared default there when it can
    run on this machine, else any back-end that can run (on any device)."""
    options = list_backends(task)
    usable = [b for b in options if b.missing() is None]
    for b in usable:
        if device in b.default_on and b.supports(device):
            return b.key
    for b in usable:
        if b.supports(device):
            return b.key
    if usable:
        return usable[0].key
    reasons = "; ".join(f"{b.key}: {b.missing()}" for b in options)
    raise BackendUnavailableError(f"no {task} model back-end can run on this machine ({reasons})")


def select(
    task: Task,
    key: str | None = None,
    device: str = AUTO,
    settings: BackendSettings | Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> ModelBackend:
    """The back-end instance for ``task``: ``key`` (None or ``"auto"``: the default for the device) on
    ``device`` (``"auto"``: CUDA when present, see :func:`pipelines.device.torch_device`); a CPU-only
    back-end runs on the CPU whatever the device (the CPU plate reader on a GPU machine whose
    onnxruntime has no CUDA provider), a CUDA-only one refuses a CPU device.
    ``settings`` default to ``options[key]`` when ``options`` (a ``models.options`` section, e.g. the
    driver's, handed to a Ray actor) is given, else to the ``models.options[key]`` of this process's
    settings file."""
    from pipelines.device import torch_device

    want: Device = "cuda" if torch_device(device) == "cuda" else "cpu"
    chosen = get_backend(key, task) if key and key != AUTO else get_backend(default_key(task, want), task)
    why = chosen.missing()
    if why is not None:
        raise BackendUnavailableError(
            f"model back-end {chosen.key!r} is not available on this machine: {why}"
        )
    if chosen.supports(want):
        run_on: Device = want
    elif "cpu" in chosen.devices:  # a CPU back-end runs anywhere (e.g. CPU OCR next to GPU faces)
        run_on = "cpu"
    else:
        raise BackendUnavailableError(
            f"model back-end {chosen.key!r} runs on {', '.join(chosen.devices)}, and the device is {want}"
        )
    if settings is None:
        settings = (
            dict(options.get(chosen.key, {})) if options is not None else configured_options(chosen.key)
        )
    return chosen(run_on, settings)


def check_choice(chosen: Mapping[str, str], options: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with a ``models`` settings section (unknown keys, invalid options), readable."""
    problems = []
    for task, key in chosen.items():
        if key and key != AUTO:
            try:
                get_backend(key, task)  # type: ignore[arg-type]
            except UnknownBackendError as exc:
                problems.append(f"models.{task}: {exc}")
    for key, values in options.items():
        try:
            get_backend(key).validate_settings(values)
        except UnknownBackendError as exc:
            problems.append(f"models.options: {exc}")
        except BackendError as exc:
            problems.append(f"models.options.{key}: {exc}")
    return problems


def configured_key(task: Task) -> str:
    """The back-end key the settings ask for (``models.plates`` / ``models.faces`` /
    ``models.plate_second``; "auto" by default)."""
    from lakehouse.settings import get_settings

    return str(getattr(get_settings().models, task))


def configured_options(key: str) -> dict[str, Any]:
    from lakehouse.settings import get_settings

    return dict(get_settings().models.options.get(key, {}))


@dataclass(frozen=True)
class BackendStatus:
    """One row of ``pesquisa models list``."""

    key: str
    task: str
    devices: list[str]
    available: bool
    missing: str | None
    default_on: list[str]
    default: bool  # the default of its task on this machine's device
    selected: bool  # the one the settings pick (``models.<task>``; auto = the default)
    description: str
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(device: str = AUTO, chosen: Mapping[str, str] | None = None) -> list[BackendStatus]:
    """Every back-end: whether it can run here, its devices, whether it is the default on this
    machine's device, and whether ``chosen`` (task -> key or "auto"; default: the settings) picks it."""
    from pipelines.device import torch_device

    here: Device = "cuda" if torch_device(device) == "cuda" else "cpu"
    defaults: dict[str, str | None] = {}
    picked: dict[str, str | None] = {}
    for task in TASKS:
        try:
            defaults[task] = default_key(task, here)
        except BackendUnavailableError:
            defaults[task] = None
        want = (chosen or {}).get(task) if chosen is not None else configured_key(task)
        if want and want != AUTO:
            try:
                picked[task] = get_backend(want, task).key
            except UnknownBackendError:
                picked[task] = None
        else:
            picked[task] = defaults[task]
    rows = []
    for b in list_backends():
        why = b.missing()
        rows.append(
            BackendStatus(
                key=b.key,
                task=b.task,
                devices=list(b.devices),
                available=why is None,
                missing=why,
                default_on=list(b.default_on),
                default=defaults.get(b.task) == b.key,
                selected=picked.get(b.task) == b.key,
                description=b.description,
                settings={
                    name: {"default": f.default, "description": f.description or ""}
                    for name, f in b.Settings.model_fields.items()
                },
            )
        )
    return rows
