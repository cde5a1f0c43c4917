"""Train the second plate recogniser on synthetic plates (torch, CTC, CPU by default).

    python -m pipelines.plates.second.train            # = make train-plates = pesquisa models train-plates

Deterministic: the model is initialised from ``seed``, batch ``b`` holds the training crops
``b * batch .. (b + 1) * batch - 1`` of the stream ``seed`` (:func:`.data.training_sample`, a pure
function of seed and index, rendered by ``workers`` data-loader processes), the step count is
fixed (no time limit that would make the result depend on the machine's speed), torch runs with
``threads`` intra-op threads. Writes the weights (a ``state_dict``, float32) and a JSON sidecar
beside them: SHA-256, size, parameters, the exact command, the data split, font hashes, the
training time and the validation accuracy (exact reads on crops of a stream training never draws).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import WEIGHTS
from .data import (
    encode,
    font_digest,
    held_out_font,
    to_input,
    training_fonts,
    training_sample,
    validation_sample,
)
from .options import (
    DEFAULT_BATCH,
    DEFAULT_LR,
    DEFAULT_SEED,
    DEFAULT_STEPS,
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    add_arguments,
)

VAL_SAMPLES = 300


def make_batch(seed: int, batch: int, b: int, fonts: tuple[str, ...]) -> tuple[Any, Any, Any, list[str]]:
    """Batch ``b``: (inputs (N, 1, 32, 128), flat targets, target lengths, texts)."""
    import torch

    xs, texts = [], []
    for i in range(b * batch, (b + 1) * batch):
        gray, text = training_sample(seed, i, fonts)
        xs.append(to_input(gray))
        texts.append(text)
    x = torch.from_numpy(np.stack(xs)[:, None])
    targets = torch.tensor([k for t in texts for k in encode(t)], dtype=torch.long)
    lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
    return x, targets, lengths, texts


def _batches(seed: int, batch: int, steps: int, fonts: tuple[str, ...], workers: int) -> Any:
    """Batches 0 .. steps - 1 in order, rendered by ``workers`` processes (0: in this one)."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    class _Stream(Dataset):
        def __len__(self) -> int:
            return steps

        def __getitem__(self, b: int) -> tuple[Any, Any, Any, list[str]]:
            return make_batch(seed, batch, b, fonts)

    def _init(_: int) -> None:
        import cv2

        cv2.setNumThreads(1)
        torch.set_num_threads(1)

    return DataLoader(
        _Stream(),
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        worker_init_fn=_init if workers else None,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )


def greedy_texts(logp: Any) -> list[str]:
    """Greedy CTC decoding of (T, N, C) log-probabilities."""
    from pipelines.plates.text import ALPHABET

    idx = logp.argmax(dim=-1).T.cpu().numpy()  # (N, T)
    out = []
    for row in idx:
        chars, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                chars.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(chars))
    return out


def validate(model: Any, val: list[tuple[np.ndarray, str]]) -> float:
    import torch

    model.eval()
    ok = 0
    with torch.no_grad():
        for start in range(0, len(val), 100):
            part = val[start : start + 100]
            x = torch.from_numpy(np.stack([to_input(g) for g, _ in part])[:, None])
            ok += sum(p == t for p, (_, t) in zip(greedy_texts(model(x)), part, strict=True))
    model.train()
    return ok / max(len(val), 1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    out: Path = WEIGHTS,
    *,
    steps: int = DEFAULT_STEPS,
    batch: int = DEFAULT_BATCH,
    seed: int = DEFAULT_SEED,
    threads: int = DEFAULT_THREADS,
    workers: int = DEFAULT_WORKERS,
    lr: float = DEFAULT_LR,
    val_samples: int = VAL_SAMPLES,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train from scratch, write ``out`` and its sidecar (``out`` with ``.json``); the sidecar's
    content is returned."""
    import torch

    from .model import PlateCRNN, count_parameters

    if steps < 1 or batch < 1 or threads < 1 or workers < 0:
        raise ValueError("steps, batch and threads must be >= 1, workers >= 0")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    fonts = training_fonts()
    model = PlateCRNN()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    val = [validation_sample(i, fonts) for i in range(val_samples)]
    t0 = time.perf_counter()
    losses: list[float] = []
    history = []
    model.train()
    for b, (x, targets, lengths, _) in enumerate(_batches(seed, batch, steps, fonts, workers)):
        logp = model(x)
        in_len = torch.full((x.shape[0],), logp.shape[0], dtype=torch.long)
        loss = ctc(logp, targets, in_len, lengths)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (b + 1) % 100 == 0 or b + 1 == steps:
            el = time.perf_counter() - t0
            msg = f"step {b + 1}/{steps} loss {np.mean(losses[-100:]):.3f} {el:.0f} s ({(b + 1) * batch / el:.0f} crops/s)"
            if (b + 1) % 500 == 0 or b + 1 == steps:
                acc = validate(model, val)
                history.append(
                    {"step": b + 1, "loss": round(float(np.mean(losses[-100:])), 4), "val_exact": acc}
                )
                msg += f" val exact {acc:.3f}"
            log(msg)
    seconds = time.perf_counter() - t0
    val_exact = validate(model, val)
    model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(out)
    meta: dict[str, Any] = {
        "file": out.name,
        "sha256": sha256(out),
        "bytes": out.stat().st_size,
        "parameters": count_parameters(model),
        "architecture": "PlateCRNN(hidden=96): 4 conv blocks 16-32-64-96, (2,3) conv 128, BiLSTM 96, CTC 37",
        "input": "gray 32x128, contrast-stretched, [-1, 1] (pipelines.plates.second.data.to_input)",
        "command": command
        or f"python -m pipelines.plates.second.train {shlex.join(_args(out, steps, batch, seed, threads, workers, lr))}",
        "seed": seed,
        "steps": steps,
        "batch": batch,
        "crops_seen": steps * batch,
        "lr": lr,
        "threads": threads,
        "workers": workers,
        "train_seconds": round(seconds, 1),
        "final_loss": round(float(np.mean(losses[-100:])), 4),
        "val_exact": round(val_exact, 4),
        "val_samples": val_samples,
        "history": history,
        "split": {
            "train_fonts": font_digest(fonts),
            "held_out_font": held_out_font(),
            "train_stream": "numpy default_rng([0x5EC0, seed, index])",
            "val_stream": "numpy default_rng([0x5EC1, index])",
            "eval_sets": "pipelines.plates.eval_sets (plate font held out, integer seeds from 9100, cctv_crop)",
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "opencv": _cv2_version(),
        },
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": platform.machine(),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def _cv2_version() -> str:
    import cv2

    return str(cv2.__version__)


def _args(out: Path, steps: int, batch: int, seed: int, threads: int, workers: int, lr: float) -> list[str]:
    args = []
    if Path(out).resolve() != WEIGHTS.resolve():
        args += ["--out", str(out)]
    return args + [
        "--steps",
        str(steps),
        "--batch",
        str(batch),
        "--seed",
        str(seed),
        "--threads",
        str(threads),
        "--workers",
        str(workers),
        "--lr",
        str(lr),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.plates.second.train", description=__doc__.split("\n")[0]
    )
    add_arguments(ap)
    args = ap.parse_args(argv)
    meta = train(
        args.out,
        steps=args.steps,
        batch=args.batch,
        seed=args.seed,
        threads=args.threads,
        workers=args.workers,
        lr=args.lr,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(
        json.dumps(
            {k: meta[k] for k in ("file", "sha256", "bytes", "parameters", "train_seconds", "val_exact")}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
