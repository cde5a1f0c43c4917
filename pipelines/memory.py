"""Give the C heap's free memory back to the system in long-lived model processes.

A model actor allocates and frees large buffers on every frame (decoded regions, ONNX Runtime and
torch activations); glibc keeps the freed blocks in its arenas for reuse, and with input sizes that
vary they fragment, so a pool actor's resident memory climbs by ~150 MB over its first few hundred
frames although the memory in use barely moves (``benchmarks/live_memory.py``: heap in use vs free).
``malloc_trim(0)`` returns those free pages; called every ``every_s`` seconds it costs a few
milliseconds and makes the actor's RSS follow the memory it really uses. A no-op where the C library
is not glibc.

delta-rs and Polars do not allocate through glibc: each links its own jemalloc, which keeps freed
pages in per-thread caches and several arenas and returns them only as they decay. In the live
stream driver (a MERGE every few seconds, for days) that retained memory grew the driver's private
memory by ~4 MB/min while glibc, Python and Arrow stayed flat (``benchmarks/live.py --soak --trace``).
:func:`tune_native_allocators` sets those jemallocs to one arena, no thread cache and immediate
return of freed pages, before the libraries load; the long-lived ``stream run`` process calls it.
(Polars' own import sets ``dirty_decay_ms:500,muzzy_decay_ms:1000`` and appends what is already
set, so ours wins.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
import time
from typing import Any

#: the jemalloc of delta-rs and Polars (built with the ``_rjem_`` prefix: it reads
#: ``_RJEM_MALLOC_CONF``) in long-lived live processes: one arena, no per-thread cache, freed pages
#: returned at once. Costs a little allocation speed; batch commands keep jemalloc's defaults.
LIVE_JEMALLOC_CONF = "narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0"

#: the extension modules whose jemalloc reads the setting when they load
_JEMALLOC_USERS = ("deltalake", "polars")


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


def tune_native_allocators(conf: str = LIVE_JEMALLOC_CONF) -> bool:
    """Configure delta-rs' and Polars' jemalloc for a long-lived process (:data:`LIVE_JEMALLOC_CONF`).

    jemalloc reads its settings once, when the library first allocates: call this before
    ``deltalake`` or ``polars`` is imported. Returns False (and changes nothing) when one is already
    loaded, or when the operator set ``_RJEM_MALLOC_CONF`` themselves. Processes started from this
    one (the local Ray cluster and its actors) inherit the setting."""
    if any(m in sys.modules for m in _JEMALLOC_USERS) or "_RJEM_MALLOC_CONF" in os.environ:
        return False
    os.environ["_RJEM_MALLOC_CONF"] = conf
    return True
