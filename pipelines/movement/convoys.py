"""Convoys: vehicles that co-occur with each other within ±Δt at several distinct cameras,
ranked against what background traffic would produce by chance.

Co-occurrence: plates A and B are read by the same camera within ``delta_s`` seconds of each other.
A pair is a candidate when it co-occurs at ``min_cameras`` or more distinct cameras. Pairs are
found per camera in one-hour event-time blocks by a sweep in time order (a read within Δt of its
block's end also spills into the next block, so every pair closer than Δt is seen exactly once),
for one ``target`` plate or all pairs. Co-occurrences travel as batches per pair-key partition (a
few thousand shuffle elements a day, not one per pair: millions at 1M reads a day), and each
partition counts its pairs' distinct cameras.

Background: if A and B moved independently, A's ``n_A,c`` and B's ``n_B,c`` reads at camera c over
an observation span T would co-occur at c with rate ``λ_c = n_A,c · n_B,c · 2Δt / T``, so camera c
shows a co-occurrence with probability ``p_c = 1 - exp(-λ_c)``. The number of cameras with a
co-occurrence is then Poisson-binomial; a candidate's ``p_value`` is the chance of seeing at least
its observed count, ``expected_cameras = Σ p_c`` and ``lift`` is observed / expected. A frequent
vehicle (a bus on the same corridor) meets the target at many cameras but scores a large p-value;
a car that follows the target scores a tiny one. Candidates are ranked by p-value.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window

from pipelines.movement.sightings import NAMESPACE, Sighting
from pipelines.movement.significance import background, poisson_binomial_sf
from pipelines.plates.text import normalize as normalize_plate

#: time blocks the ±Δt pairs are found in (at least Δt): one group per camera and hour, not per Δt
BLOCK_S = 3600.0
#: pair-key partitions the co-occurrences are shuffled in (batches, not one element per pair)
PARTS = 16


class _Block(beam.DoFn):
    """Keys (camera, horizon, block): the horizon index is explicit, so pairs never cross a horizon
    on any runner (a runner that groups without windows included). A read within Δt of its block's
    end also goes to the next block (a "spill"), so every pair closer than Δt meets in exactly one
    group: both at home, or the earlier one spilled next to the later one."""

    def __init__(self, delta_s: float, horizon_s: float | None, block_s: float):
        self.delta_s = delta_s
        self.horizon_s = horizon_s
        self.block_s = block_s

    def process(self, s: Sighting) -> Iterator[tuple[tuple[str, int, int], tuple[bool, Sighting]]]:
        h = _horizon(s.ts, self.horizon_s)
        b = math.floor(s.ts / self.block_s)
        yield (s.camera_id, h, b), (True, s)  # home block
        # a second of margin: a spill that finds no partner within Δt costs nothing, a missed one a pair
        if s.ts >= (b + 1) * self.block_s - self.delta_s - 1.0:
            yield (s.camera_id, h, b + 1), (False, s)  # spill into the next block


def _horizon(ts: float, horizon_s: float | None) -> int:
    return math.floor(ts / horizon_s) if horizon_s else 0


def _part(plate: str) -> int:
    """The pair-key partition of ``plate`` (zlib.crc32: the same in every worker process, unlike
    ``hash``)."""
    return zlib.crc32(plate.encode()) % PARTS


class _PairsInBlock(beam.DoFn):
    """Pairs of different plates closer than Δt in one camera-block, each exactly once (home x home,
    spill x home; a sweep over the reads in time order), emitted as one batch per pair-key
    partition: ``((horizon, part), [(plate_a, plate_b, camera), ...])``."""

    def __init__(self, delta_s: float, target: str | None):
        self.delta_s = delta_s
        self.target = target
        self.pairs = Metrics.counter(NAMESPACE, "convoy_cooccurrences")

    def _key(self, a: str, b: str) -> tuple[str, str] | None:
        if a == b:
            return None
        if self.target is not None:
            if a == self.target:
                return a, b
            if b == self.target:
                return b, a
            return None
        return (a, b) if a < b else (b, a)

    def process(self, element: tuple[tuple[str, int, int], Iterable[tuple[bool, Sighting]]]) -> Iterator[Any]:
        (camera, h, _), members = element
        reads = sorted(((s.ts, is_home, s.plate) for is_home, s in members), key=lambda x: x[0])
        if not any(home for _, home, _ in reads):
            return
        out: dict[int, list[tuple[str, str, str]]] = {}
        delta = self.delta_s
        n = 0
        for i, (ts_a, home_a, plate_a) in enumerate(reads):
            for ts_b, home_b, plate_b in reads[i + 1 :]:
                if ts_b - ts_a > delta:
                    break
                if (home_a or home_b) and (key := self._key(plate_a, plate_b)) is not None:
                    out.setdefault(_part(key[0]), []).append((key[0], key[1], camera))
                    n += 1
        self.pairs.inc(n)
        for part, batch in out.items():
            yield (h, part), batch


class _CandidatesInPart(beam.DoFn):
    """All co-occurrences of one pair-key partition -> the pairs together at ``min_cameras`` or more
    distinct cameras, keyed by (plate_a, horizon)."""

    def __init__(self, min_cameras: int):
        self.min_cameras = min_cameras
        self.candidates = Metrics.counter(NAMESPACE, "convoy_candidates")

    def process(self, element: tuple[tuple[int, int], Iterable[list[tuple[str, str, str]]]]) -> Iterator[Any]:
        (h, _), batches = element
        cams: dict[tuple[str, str], list[str]] = {}
        for batch in batches:
            for a, b, camera in batch:
                cams.setdefault((a, b), []).append(camera)
        for (a, b), seen in cams.items():
            distinct = sorted(set(seen))
            if len(distinct) >= self.min_cameras:
                self.candidates.inc()
                yield (
                    (a, h),
                    {
                        "plate_a": a,
                        "plate_b": b,
                        "n_cameras": len(distinct),
                        "n_cooccurrences": len(seen),
                        "cameras": distinct,
                        "_h": h,
                    },
                )


def _attach(side: str) -> Any:
    """CoGroupByKey output -> candidate rows carrying the per-camera counts of ``side``'s plate."""

    def attach(element: tuple[tuple[str, int], dict[str, list[Any]]]) -> Iterator[Any]:
        (_, h), grouped = element
        counts = grouped["counts"][0] if grouped["counts"] else {}
        for cand in grouped["cand"]:
            cand = dict(cand, **{f"_counts_{side}": counts})
            yield ((cand["plate_b"] if side == "a" else cand["plate_a"]), h), cand

    return attach


class _Score(beam.DoFn):
    def __init__(self, delta_s: float, span_s: float):
        self.delta_s = delta_s
        self.span_s = span_s

    def process(self, element: tuple[tuple[str, int], dict[str, list[Any]]]) -> Iterator[Any]:
        _, grouped = element
        counts_b = grouped["counts"][0] if grouped["counts"] else {}
        for cand in grouped["cand"]:
            cand = dict(cand)
            counts_a = cand.pop("_counts_a")
            h = cand.pop("_h")
            events, expected, probs = background(counts_a, counts_b, self.delta_s, self.span_s)
            p_value = poisson_binomial_sf(probs, cand["n_cameras"])
            yield (
                h,
                dict(
                    cand,
                    reads_a=sum(counts_a.values()),
                    reads_b=sum(counts_b.values()),
                    expected_cooccurrences=events,
                    expected_cameras=expected,
                    lift=cand["n_cameras"] / expected if expected > 0 else math.inf,
                    p_value=p_value,
                    score=-math.log10(max(p_value, 1e-300)),
                ),
            )


def _rank(element: tuple[int, Iterable[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    _, rows = element
    ordered = sorted(rows, key=lambda r: (r["p_value"], -r["lift"], r["plate_a"], r["plate_b"]))
    for i, r in enumerate(ordered, 1):
        yield dict(r, rank=i)


class Convoys(beam.PTransform):
    """``Sighting`` elements -> ranked convoy candidate rows.

    Args:
        delta_s: co-occurrence tolerance ±Δt in seconds.
        min_cameras: distinct cameras a pair must co-occur at (k).
        span_s: observation span T for the background rate (the bounded run's length); defaults to
            ``horizon_s``.
        target: only pairs with this plate (``plate_a`` is the target); None for all pairs.
        horizon_s: analyse in fixed event-time windows of this length (needed on unbounded input);
            None analyses the whole input at once.
    """

    def __init__(
        self,
        delta_s: float = 60.0,
        min_cameras: int = 3,
        span_s: float | None = None,
        target: str | None = None,
        horizon_s: float | None = None,
    ):
        super().__init__()
        span = span_s if span_s is not None else horizon_s
        if delta_s <= 0 or min_cameras < 1 or not span or span <= 0:
            raise ValueError("need delta_s > 0, min_cameras >= 1 and a positive span_s (or horizon_s)")
        self.delta_s = delta_s
        self.min_cameras = min_cameras
        self.span_s = float(span)
        self.target = normalize_plate(target) or None
        self.horizon_s = horizon_s

    def expand(self, sightings: beam.PCollection) -> beam.PCollection:
        # Beam windows close a horizon on unbounded input; every key also carries the horizon index,
        # so a runner that groups without windows gives the same result
        windowfn = window.FixedWindows(self.horizon_s) if self.horizon_s else window.GlobalWindows()
        s = sightings | "Window" >> beam.WindowInto(windowfn)
        candidates = (
            s
            | "Block" >> beam.ParDo(_Block(self.delta_s, self.horizon_s, max(BLOCK_S, self.delta_s)))
            | "GroupBlock" >> beam.GroupByKey()
            | "Pairs" >> beam.ParDo(_PairsInBlock(self.delta_s, self.target))
            | "GroupPart" >> beam.GroupByKey()
            | "Candidates" >> beam.ParDo(_CandidatesInPart(self.min_cameras))
        )
        horizon = self.horizon_s
        counts = (
            s
            | "PlateCamera" >> beam.Map(lambda x: ((x.plate, x.camera_id, _horizon(x.ts, horizon)), 1))
            | "CountPlateCamera" >> beam.CombinePerKey(sum)
            | "ByPlate" >> beam.MapTuple(lambda pch, n: ((pch[0], pch[2]), (pch[1], n)))
            | "GroupPlate" >> beam.GroupByKey()
            | "AsDict" >> beam.MapTuple(lambda key, cn: (key, dict(cn)))
        )
        with_a = (
            {"cand": candidates, "counts": counts}
            | "JoinA" >> beam.CoGroupByKey()
            | "AttachA" >> beam.FlatMap(_attach("a"))
        )
        return (
            {"cand": with_a, "counts": counts}
            | "JoinB" >> beam.CoGroupByKey()
            | "Score" >> beam.ParDo(_Score(self.delta_s, self.span_s))
            | "GroupHorizon" >> beam.GroupByKey()
            | "Rank" >> beam.FlatMap(_rank)
            | "Unwindow" >> beam.WindowInto(window.GlobalWindows())
        )
