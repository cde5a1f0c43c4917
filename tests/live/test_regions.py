"""Motion regions grown to a few fixed sizes (``live.region_step_px``): every region of a 720p frame
becomes one of at most (1280/64) x (720/64) sizes, contains the original, and stays in the frame."""

from __future__ import annotations

import random

from pipelines.live.regions import bucket_box, bucket_regions


def test_regions_grow_to_few_sizes_inside_the_frame_and_keep_what_moved():
    rng = random.Random(3)
    sizes = set()
    for _ in range(3000):
        x1, y1 = rng.uniform(0, 1270), rng.uniform(0, 710)
        box = (x1, y1, rng.uniform(x1 + 1, 1280), rng.uniform(y1 + 1, 720))
        b = bucket_box(box, 1280, 720, 64)
        assert 0 <= b[0] <= box[0] and 0 <= b[1] <= box[1], (box, b)
        assert box[2] <= b[2] <= 1280 and box[3] <= b[3] <= 720, (box, b)
        w, h = b[2] - b[0], b[3] - b[1]
        assert (w % 64 == 0 or w == 1280) and (h % 64 == 0 or h == 720), (box, b)
        sizes.add((w, h))
    assert len(sizes) <= 20 * 12
    assert bucket_regions(None, 1280, 720, 64) is None  # the whole frame stays the whole frame
    exact = [(10.5, 20.0, 99.0, 70.0)]
    assert bucket_regions(exact, 1280, 720, 0) == exact  # 0: exact regions
