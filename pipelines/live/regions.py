"""Motion regions of a live camera grown to a few fixed sizes before they go to the model pool.

The motion gate's regions come in every size (a box around whatever moved, padded), so a live
stream shows the models an ever new input shape: ONNX Runtime keeps a memory plan per input shape,
torch's oneDNN a compiled kernel per convolution shape, and the allocator keeps the blocks of every
size it was asked for. Growing each region's width and height up to the next multiple of
``step`` px (centred, kept inside the frame, at most the frame) leaves a 720p camera about
(1280/64) x (720/64) = 240 region sizes, so those caches fill once and stay flat: the model pool's
memory over a long stream does not grow with the number of frames seen (measured:
``benchmarks/live_memory.py``). A region only grows, so nothing the gate found is cut off.
"""

from __future__ import annotations

import math

Box = tuple[float, float, float, float]


def bucket_box(box: Box, width: int, height: int, step: int) -> Box:
    """``box`` grown to a width and height that are multiples of ``step`` (or the frame's), centred
    on the original and shifted to stay inside the ``width`` x ``height`` frame."""
    if step <= 0:
        return box
    x1, x2 = _grow(math.floor(box[0]), math.ceil(box[2]), width, step)
    y1, y2 = _grow(math.floor(box[1]), math.ceil(box[3]), height, step)
    return (x1, y1, x2, y2)


def _grow(lo: int, hi: int, limit: int, step: int) -> tuple[float, float]:
    size = min(limit, max(step, math.ceil(max(hi - lo, 1) / step) * step))
    start = lo - (size - (hi - lo)) // 2
    start = max(0, min(start, limit - size))
    return float(start), float(start + size)


def bucket_regions(regions: list[Box] | None, width: int, height: int, step: int) -> list[Box] | None:
    """Each region bucketed (:func:`bucket_box`); None (the whole frame) stays None."""
    if regions is None or step <= 0:
        return regions
    return [bucket_box(b, width, height, step) for b in regions]
