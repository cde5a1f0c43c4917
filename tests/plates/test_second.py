"""The second plate recogniser: training smoke, committed weights, the reader's fusion hook."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from pipelines.plates.decode import Candidate
from pipelines.plates.second.data import (
    held_out_font,
    to_input,
    training_fonts,
    training_sample,
    validation_sample,
)
from pipelines.plates.second.hook import MEASURED_DEFAULT, fuse_candidates, resolve_mode


def test_training_never_draws_the_evaluation_font_or_stream():
    fonts = training_fonts()
    assert fonts and held_out_font() not in fonts
    a, ta = training_sample(15, 0, fonts)
    b, tb = training_sample(15, 0, fonts)
    assert ta == tb and np.array_equal(a, b)  # a pure function of (seed, index)
    c, tc = validation_sample(0, fonts)
    assert (tc, c.shape) != (ta, a.shape) or not np.array_equal(a, c)
    x = to_input(a)
    assert x.shape == (32, 128) and x.dtype == np.float32 and -1.0 <= x.min() and x.max() <= 1.0
    heights = [training_sample(15, i, fonts)[0].shape[0] for i in range(20)]
    assert min(heights) >= 4 and max(heights) <= 120  # CCTV sizes (a few closer)


def test_training_smoke_loss_decreases_and_weights_round_trip(tmp_path):
    import torch

    from pipelines.plates.second.infer import SecondRecogniser
    from pipelines.plates.second.model import PlateCRNN, count_parameters
    from pipelines.plates.second.train import make_batch, train

    fonts = training_fonts()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = PlateCRNN()
    assert count_parameters(model) < 2_000_000
    x, targets, lengths, _ = make_batch(3, 8, 0, fonts)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    losses = []
    for _ in range(40):  # a handful of rendered plates, learnt by heart
        logp = model(x)
        loss = ctc(logp, targets, torch.full((8,), logp.shape[0], dtype=torch.long), lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.6 * losses[0]

    out = tmp_path / "w.pt"
    meta = train(out, steps=3, batch=4, seed=1, threads=1, workers=0, val_samples=4, log=lambda m: None)
    assert out.is_file() and meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["steps"] == 3 and "--steps 3" in side["command"] and side["split"]["held_out_font"]
    rec = SecondRecogniser(out, device="cpu")
    state = torch.load(out, weights_only=True)
    for k, v in rec.model.state_dict().items():
        assert torch.equal(v.cpu(), state[k])
    gray, _ = validation_sample(1, fonts)
    (p,) = rec.probabilities([gray])
    assert p.shape == (32, 38) and np.allclose(p.sum(axis=1), 1.0, atol=1e-4) and not p[:, 37].any()


def test_fusion_prefers_the_text_both_recognisers_support():
    def cand(text: str, score: float, fmt: str = "AR") -> Candidate:
        return Candidate(text, score, fmt, "LLDDDLL", [score ** (1 / len(text))] * len(text))

    # RapidOCR weak and wrong at night (M for W); the second recogniser sure of W
    first = [cand("AM123CD", 0.30), cand("AW123CD", 0.22), cand("AN123CD", 0.05)]
    second = [cand("AW123CD", 0.80), cand("AV123CD", 0.05)]
    fused = fuse_candidates(first, second, local="AR")
    assert fused[0].text == "AW123CD"
    assert fused[0].score == pytest.approx((0.22 * 0.80) ** 0.5)
    assert len(fused[0].char_probs) == 7
    # a text only one side lists takes half that side's lowest score for the other
    am = next(c for c in fused if c.text == "AM123CD")
    assert am.score == pytest.approx((0.30 * 0.025) ** 0.5)
    # nothing from the first recogniser: the second alone cannot make a strong read
    alone = fuse_candidates([], second, local="AR")
    assert alone[0].text == "AW123CD" and alone[0].score < 0.2


def test_modes():
    assert resolve_mode("off")[0] is False and resolve_mode("on")[0] is True
    assert resolve_mode("auto")[0] is (MEASURED_DEFAULT == "on")
    with pytest.raises(ValueError, match="second_recogniser"):
        resolve_mode("sometimes")


def test_cli_trains_and_models_list_shows_the_backend(tmp_path, monkeypatch, capsys):
    from jobs.cli import main

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    out = tmp_path / "cli.pt"
    args = ["--home", str(home), "--json", "models", "train-plates", "--out", str(out)]
    assert main(args + ["--steps", "2", "--batch", "4", "--threads", "1", "--workers", "0"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["steps"] == 2 and rec["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert main(["--home", str(home), "--json", "models", "list", "--device", "cpu"]) == 0
    rows = {r["key"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["plate-crnn-torch"]["task"] == "plate_second"
    assert main(args + ["--steps", "0"]) == 1  # a clear error, nothing written
    assert "steps" in capsys.readouterr().err
