"""Training options of the second recogniser, shared by ``python -m pipelines.plates.second.train``
and ``pesquisa models train-plates`` (no heavy imports: the CLI builds its parser from these)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import WEIGHTS

DEFAULT_STEPS = 1000
DEFAULT_BATCH = 48
DEFAULT_SEED = 15
DEFAULT_THREADS = 1
DEFAULT_WORKERS = 1
DEFAULT_LR = 3e-3


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--out", type=Path, default=WEIGHTS, help=f"weights file (default: the committed {WEIGHTS.name})"
    )
    ap.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"optimiser steps (default {DEFAULT_STEPS})"
    )
    ap.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help=f"crops per step (default {DEFAULT_BATCH})"
    )
    ap.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"model and data seed (default {DEFAULT_SEED})"
    )
    ap.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help=f"torch threads (default {DEFAULT_THREADS})"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"processes rendering training crops (default {DEFAULT_WORKERS}; 0: in the training process)",
    )
    ap.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"peak learning rate (default {DEFAULT_LR})")
