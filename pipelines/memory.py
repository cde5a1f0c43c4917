"""Give the C heap's free memory back to the system in long-lived model processes.

A model actor allocates and frees large buffers on every frame (decoded regions, ONNX Runtime and
torch activations); glibc keeps the freed blocks in its arenas for reuse, and with input sizes that
vary they fragment, so a pool actor's resident memory climbs by ~150 MB over its first few hundred
frames although the memory in use barely moves (``benchmarks/live_memory.py``: heap in use vs free).
``malloc_trim(0)`` returns those free pages; called every ``every_s`` seconds it costs a few
milliseconds and makes the actor's RSS follow the memory it really uses. A no-op where the C library
is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from typing import Any


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    return libc


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system (glibc ``malloc_trim``); False where unavailable."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


class HeapTrimmer:
    """Calls :func:`release_free_heap` at most every ``every_s`` seconds (``maybe()`` after each
    batch of work)."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last = time.monotonic()
        self.trims = 0

    def maybe(self) -> None:
        now = time.monotonic()
        if self.every_s > 0 and now - self._last >= self.every_s:
            self._last = now
            if release_free_heap():
                self.trims += 1
