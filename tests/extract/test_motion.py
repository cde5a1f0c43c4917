"""Motion gating: still scenes are skipped, movement gives regions, passes keep their frames."""

from __future__ import annotations

import numpy as np

from pipelines.extract.motion import MotionConfig, MotionGate


def _frame(x: int | None, w: int = 320, h: int = 180, level: int = 60) -> np.ndarray:
    rng = np.random.default_rng(x or 0)
    img = np.clip(level + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)
    if x is not None:
        img[80:110, x : x + 30] = 230
    return img


def test_still_scene_is_skipped_moving_object_gives_a_region() -> None:
    gate = MotionGate(1280, 720, MotionConfig(keyframe_s=0, hangover=1))
    assert gate.update(_frame(None), 0.0).reason == "first"
    assert not gate.update(_frame(None), 0.2).process
    d = gate.update(_frame(100), 0.4)
    assert d.process and d.reason == "motion" and d.regions
    x1, y1, x2, y2 = d.regions[0]
    # the square (full-res x 400..520, y 320..440) lies inside the region, which is far from the frame
    assert x1 <= 400 and x2 >= 520 and y1 <= 320 and y2 >= 440
    assert (x2 - x1) * (y2 - y1) < 0.3 * 1280 * 720
    # the object stops: the background absorbs it, then the hangover frame, then nothing
    reasons = []
    for k in range(12):
        d = gate.update(_frame(100), 0.6 + 0.2 * k)
        reasons.append(d.reason if d.process else "skip")
    assert "hangover" in reasons and reasons[-1] == "skip"
    assert reasons.index("skip") <= 8
    assert reasons[reasons.index("hangover") - 1] == "motion"


def test_keyframes_and_lighting_changes_look_at_the_whole_frame() -> None:
    gate = MotionGate(1280, 720, MotionConfig(keyframe_s=2.0))
    gate.update(_frame(None), 0.0)
    decisions = [gate.update(_frame(None), 0.2 * k) for k in range(1, 16)]
    keyframes = [d for d in decisions if d.process]
    assert len(keyframes) == 1 and keyframes[0].regions is None and keyframes[0].reason == "keyframe"
    d = gate.update(_frame(None, level=160), 3.4)
    assert d.process and d.regions is None and d.reason == "lighting"
