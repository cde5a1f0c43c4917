"""Significance against background traffic (no Beam): the one model the convoy transform, the
convoy query, stakeout and crime-series leads share.

Under independence, plate A's ``n_A,c`` and plate B's ``n_B,c`` reads at camera ``c`` over a span
``T`` co-occur within ±Δt at rate ``λ_c = n_A,c · n_B,c · 2Δt / T``; camera ``c`` shows a
co-occurrence with probability ``p_c = 1 - exp(-λ_c)``; the number of such cameras is
Poisson-binomial, and a candidate's p-value is the chance of seeing at least its observed count.
"""

from __future__ import annotations

import math


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


def background(
    counts_a: dict[str, int], counts_b: dict[str, int], delta_s: float, span_s: float
) -> tuple[float, float, list[float]]:
    """(expected co-occurrence events, expected cameras, per-camera probabilities) under independence."""
    lambdas = [counts_a[c] * counts_b[c] * 2.0 * delta_s / span_s for c in counts_a if c in counts_b]
    probs = [1.0 - math.exp(-lam) for lam in lambdas]
    return sum(lambdas), sum(probs), probs


__all__ = ["background", "poisson_binomial_sf"]
