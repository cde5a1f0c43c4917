"""Significance against background traffic (no Beam): the one model the convoy transform, the
convoy query, stakeout and crime-series leads share.

Under independence, plate A's ``n_A,c`` and plate B's ``n_B,c`` reads at camera ``c`` over a span
``T`` co-occur within ±Δt at rate ``λ_c = n_A,c · n_B,c · 2Δt / T``; camera ``c`` shows a
co-occurrence with probability ``p_c = 1 - exp(-λ_c)``; the number of such cameras is
Poisson-binomial, and a candidate's p-value is the chance of seeing at least its observed count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def poisson_binomial_sf(probs: list[float], k: int) -> float:
    """P(X >= k) for X the number of successes of independent trials with ``probs``."""
    if k <= 0:
        return 1.0
    if k > len(probs):
        return 0.0
    dist = [1.0] + [0.0] * len(probs)  # dist[j] = P(j successes so far)
    for p in probs:
        for j in range(len(dist) - 1, 0, -1):
            dist[j] = dist[j] * (1 - p) + dist[j - 1] * p
        dist[0] *= 1 - p
    return min(1.0, max(0.0, sum(dist[k:])))


def poisson_binomial_sf_many(
    probs: Sequence[Sequence[float]], ks: Sequence[int], chunk: int = 2048
) -> list[float]:
    """:func:`poisson_binomial_sf` of many candidates at once (numpy: one step per trial over a
    candidates x successes matrix, longest rows first so each step touches only the rows that
    still have trials and the successes reachable so far). Bit-identical to the scalar form:
    the same products and sums in the same order."""
    import numpy as np

    order = sorted(range(len(probs)), key=lambda i: -len(probs[i]))
    out = [0.0] * len(probs)
    for lo in range(0, len(order), chunk):
        idx = order[lo : lo + chunk]
        lens = [len(probs[i]) for i in idx]
        n = lens[0] if lens else 0
        p = np.zeros((len(idx), n))
        for row, i in enumerate(idx):
            p[row, : lens[row]] = probs[i]
        dist = np.zeros((len(idx), n + 1))
        dist[:, 0] = 1.0
        active = len(idx)
        for j in range(n):
            while active and lens[active - 1] <= j:
                active -= 1
            pj = p[:active, j : j + 1]
            d = dist[:active, : j + 2]
            shifted = d[:, :-1] * pj
            d[:, 1:] = d[:, 1:] * (1 - pj) + shifted
            d[:, 0] *= 1 - pj[:, 0]
        for row, i in enumerate(idx):
            k = int(ks[i])
            if k <= 0:
                out[i] = 1.0
            elif k > lens[row]:
                out[i] = 0.0
            else:
                out[i] = min(1.0, max(0.0, sum(dist[row, k : lens[row] + 1].tolist())))
    return out


def background(
    counts_a: dict[str, int], counts_b: dict[str, int], delta_s: float, span_s: float
) -> tuple[float, float, list[float]]:
    """(expected co-occurrence events, expected cameras, per-camera probabilities) under independence."""
    lambdas = [counts_a[c] * counts_b[c] * 2.0 * delta_s / span_s for c in counts_a if c in counts_b]
    probs = [1.0 - math.exp(-lam) for lam in lambdas]
    return sum(lambdas), sum(probs), probs


__all__ = ["background", "poisson_binomial_sf", "poisson_binomial_sf_many"]
