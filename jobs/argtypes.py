"""Argument types shared by the command modules (argparse ``type=`` callables with readable errors)."""

from __future__ import annotations

import argparse
import math


def positive(text: str) -> float:
    """A finite number > 0 (e.g. ``--duration``, ``--sample-fps``)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError("must be a finite number > 0")
    return v
