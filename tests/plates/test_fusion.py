"""Fusion of a track's frames over the recogniser's probabilities (CTC-aware), not a vote on strings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipelines.plates.decode import rank_candidates
from pipelines.plates.fusion import (
    ALNUM,
    ctc_char_posteriors,
    ctc_log_likelihood,
    fuse_frames,
    greedy_seq,
    joint_decode,
)


def onehot_ctc(path: str) -> np.ndarray:
    """A (T, 38) distribution emitting ``path`` (``-`` = blank), each step 0.9 sure."""
    out = np.full((len(path), 38), 0.1 / 37)
    for t, c in enumerate(path):
        out[t, 0 if c == "-" else ALNUM.index(c) + 1] = 0.9
    return out


def test_ctc_likelihood_sums_alignments_and_handles_repeats():
    lp = np.log(onehot_ctc("-AA-B-"))
    assert ctc_log_likelihood(lp, "AB") > ctc_log_likelihood(lp, "AAB")
    lp2 = np.log(onehot_ctc("-A-A-B"))  # a repeated character needs a blank between
    assert ctc_log_likelihood(lp2, "AAB") > ctc_log_likelihood(lp2, "AB")
    conf = ctc_char_posteriors(lp, "AB")
    assert conf.shape == (2,) and np.all(conf > 0.85)
    assert greedy_seq(onehot_ctc("-AA-B-").astype(np.float32)).chars == "AB"


def test_joint_decode_respects_each_pattern_and_frames_disagreeing_in_length():
    # three frames: one misses the last character, one reads 8 for B where the pattern wants a letter
    frames = [onehot_ctc("-A-B-1-2-3-C-D-"), onehot_ctc("-A-B-1-2-3-C--"), onehot_ctc("-A-8-1-2-3-C-D-")]
    logps = [np.log(f) for f in frames]
    best = joint_decode(
        logps,
        [("ABCDEFGHIJKLMNOPQRSTUVWXYZ",) * 2 + ("0123456789",) * 3 + ("ABCDEFGHIJKLMNOPQRSTUVWXYZ",) * 2],
    )
    assert best[0][1] == "AB123CD"
    fused = fuse_frames(frames, ["AR"])
    assert fused is not None and fused.text == "AB123CD" and fused.plate_format == "AR" and fused.frames == 3
    assert len(fused.char_confidences) == 7 and min(fused.char_confidences) > 0.3


def test_a_letter_slot_of_the_cameras_layout_never_gets_the_digit_twin():
    """Every frame's recogniser prefers the digit 0 where the EU camera's layout (LL DDD LL) wants a
    letter: the fused read is PP587AO, as each frame's own layout repair reads it, not the loose
    PP587A0; its confidence there is the pair's (O or 0), so the read is not pushed under the bar."""
    frames = []
    for _ in range(4):
        f = onehot_ctc("-P-P-5-8-7-A-0-")
        o, zero = ALNUM.index("O") + 1, ALNUM.index("0") + 1
        f[13, zero], f[13, o] = 0.6, 0.3  # 0 favoured over O, but together they are sure
        frames.append(f)
    fused = fuse_frames(frames, ["EU"])
    assert fused is not None and fused.text == "PP587AO"
    assert fused.char_confidences[-1] > 0.85
    loose = fuse_frames(frames, ["generic"])  # no layout fixes the class: the model's choice stays
    assert loose is not None and loose.text == "PP587A0"


@pytest.mark.slow
def test_five_noisy_frames_read_exactly_where_no_single_frame_does():
    """A synthetic Argentine plate at 14 px, five frames with independent sensor noise: every frame
    alone reads it wrong, the fused probabilities read it exactly."""
    from pipelines.plates.engine import get_engine
    from pipelines.synth.plates import make_plate, render_plate

    engine = get_engine("cpu", threads=1)
    rng = np.random.default_rng(4)
    truth = make_plate("AR", rng)
    plate = render_plate(truth, "AR", 48)
    crops = []
    for _ in range(5):
        small = cv2.resize(plate, None, fx=14 / 48, fy=14 / 48, interpolation=cv2.INTER_AREA).astype(
            np.float32
        )
        small = np.clip(small + rng.normal(0, 45, small.shape), 0, 255).astype(np.uint8)
        crops.append(cv2.resize(small[:, :, ::-1], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    lines = engine.recognize(crops)
    singles = []
    for ln in lines:
        cands = rank_candidates(greedy_seq(ln.ctc), ["AR"], 3)
        singles.append(cands[0].text if cands else "")
    print(f"\n{truth}: frames read {singles}")
    assert truth not in singles
    # the vote a string-level fusion would take is wrong too
    fused = fuse_frames([ln.ctc for ln in lines], ["AR"])
    print(f"fused: {fused.text} {fused.candidates[:3]}")
    assert fused.text == truth and fused.plate_format == "AR"


def test_a_track_row_is_read_from_its_frames_fused_not_from_a_vote():
    import datetime as dt

    from pipelines.extract.passes import SourceContext, plate_row
    from pipelines.extract.tracking import Observation, Track

    # three frames, each wrong in a different place; the vote would pick one of the wrong strings
    frames = {
        "AB123CB": onehot_ctc("-A-B-1-2-3-C-8-"),
        "A8123CD": onehot_ctc("-A-8-1-2-3-C-D-"),
        "AB128CD": onehot_ctc("-A-B-1-2-8-C-D-"),
    }
    # the middle character of each wrong frame is only half sure: the other frames outvote it
    frames["AB123CB"][13] = onehot_ctc("D")[0] * 0.45 + onehot_ctc("8")[0] * 0.55
    frames["A8123CD"][3] = onehot_ctc("B")[0] * 0.45 + onehot_ctc("8")[0] * 0.55
    frames["AB128CD"][9] = onehot_ctc("3")[0] * 0.45 + onehot_ctc("8")[0] * 0.55
    track = Track(1)
    for i, (text, ctc) in enumerate(frames.items()):
        track.obs.append(
            Observation(
                i,
                i * 0.2,
                (0, 0, 10, 5),
                0.8 - 0.1 * i,
                {
                    "text": text,
                    "raw": text,
                    "score": 0.8 - 0.1 * i,
                    "bbox": (0, 0, 10, 5),
                    "candidates": [(text, 0.8 - 0.1 * i)],
                    "char_confidences": [0.9] * 7,
                    "plate_format": "AR",
                    "ctc": ctc,
                    "crop_jpeg": b"x",
                },
            )
        )
    ctx = SourceContext(
        "v", "cam", "ag", "/v.mp4", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "m", ("AR", "BR", "generic")
    )
    row = plate_row(track, ctx)
    assert row["plate"] == "AB123CD" and row["plate_format"] == "AR"
    assert row["candidates"][0]["text"] == "AB123CD" and len(row["char_confidences"]) == 7
    assert row["crop_jpeg"] == b"x" and row["track_len"] == 3


def test_the_joint_beam_scores_equal_the_ctc_forward_algorithm():
    from pipelines.plates.fusion import _log_probs, _Scorer

    rng = np.random.default_rng(0)
    frames = [rng.dirichlet(np.ones(38) * 0.3, size=n) for n in (9, 12)]  # different lengths: padded
    lps = [_log_probs(f) for f in frames]
    scorer = _Scorer(lps)
    for text in ["A", "AB", "AAB", "AA", "ABA", "1B2", "BB", "7"]:
        want = sum(ctc_log_likelihood(lp, text) for lp in lps)
        assert scorer.log_likelihood(text) == pytest.approx(want, rel=1e-9, abs=1e-9), text


def test_a_track_at_a_camera_with_no_format_treats_no_preset_as_its_own():
    """A camera with no registered format reads with the regional defaults; fused tracks there
    weigh a sign word that fits the first default (``BUS 123``, Argentina's old layout) down, as
    the per-frame reader does, while a camera registered as AR takes it at face value."""
    from pipelines.extract.passes import fuse_track
    from pipelines.extract.tracking import Observation, Track

    track = Track(1)
    for i in range(3):
        data = {"text": "BUS123", "score": 0.8, "ctc": onehot_ctc("-B-U-S-1-2-3-")}
        track.obs.append(Observation(i, i * 0.2, (0, 0, 10, 5), 0.8, data))
    own = fuse_track(track, ("AR",))
    unregistered = fuse_track(track, None)
    assert own is not None and unregistered is not None
    assert own.text == unregistered.text == "BUS123"
    assert unregistered.score < own.score * 0.75
