"""Who passes which camera when: vehicle routes across cameras, convoys, local traffic, pedestrians.

Cameras of one lighting session (day or night) are chained into a tour (nearest neighbour, from a
ring portico when there is one). Each camera's clip starts when a car driving the tour at a
city speed would reach it, so a vehicle routed along part of the tour appears at every camera on
its path, in order, with travel times that match the distance between them. Convoys are 2-3
routed vehicles on the same path a few seconds apart. Local vehicles pass only one camera.
Vehicles in one lane never overlap in space; pedestrians walk on the sidewalk (towards the camera,
their face visible, or away from it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from lakehouse.ids import stable_id
from pipelines.synth.geo import haversine_m
from pipelines.synth.plates import FORMATS, make_plate
from pipelines.synth.scene import Geometry, Layout
from pipelines.synth.vehicles import VehicleSpec, random_vehicle

__all__ = ["CameraPlan", "CityPlan", "PedAgent", "VehicleAgent", "plan_city", "vehicle_interval"]

Z_FAR_V = 150.0  # vehicles appear this far away
Z_GONE_V = 0.9  # and are gone when this close
VEHICLE_GAP_M = 6.6  # front-to-front distance in a lane (car length + margin)
Z_FAR_P = 26.0
Z_REF_P = 1.6  # a pedestrian's reference point (walks past the camera around here)
Z_GONE_P = 0.7
CITY_SPEED_MS = 30 / 3.6  # average speed between cameras
DETOUR = 1.35  # road distance / straight distance


@dataclass
class VehicleAgent:
    spec: VehicleSpec
    lane_dx: float
    speed: float  # m/s in the scene
    t_pass: float  # seconds from clip start when the plate's lower edge reaches the bottom row
    roll_deg: float
    keystone: float
    routed: bool = False

    def z_at(self, t: float, z_min: float) -> float:
        return z_min + self.speed * (self.t_pass - t)


@dataclass
class PedAgent:
    ped_id: str
    identity: str | None  # None: walks away, no face
    toward: bool
    x: float
    speed: float
    t_ref: float  # seconds from clip start when the pedestrian is Z_REF_P from the camera
    height_m: float
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    hair: tuple[int, int, int]
    phase0: float

    def z_at(self, t: float) -> float:
        d = self.speed * (t - self.t_ref)
        return Z_REF_P - d if self.toward else Z_REF_P + d


@dataclass
class CameraPlan:
    index: int
    row: dict  # cameras table row
    scene: str
    lighting: str
    start_ts: dt.datetime
    geometry: Geometry
    layout: Layout
    vehicles: list[VehicleAgent] = field(default_factory=list)
    peds: list[PedAgent] = field(default_factory=list)
    utc_offset_h: float = 0.0  # for the on-screen clock (local time)


@dataclass
class CityPlan:
    cameras: list[CameraPlan]
    vehicles: dict[str, VehicleSpec]
    sightings: dict[str, list[tuple[str, float]]]  # vehicle_id -> [(camera_id, t_pass)]
    convoys: list[dict]


def vehicle_interval(a: VehicleAgent, z_min: float) -> tuple[float, float]:
    """Clip-time interval during which the vehicle is in the scene."""
    return a.t_pass - (Z_FAR_V - z_min) / a.speed, a.t_pass + (z_min - Z_GONE_V) / a.speed


def _lane_conflict(a: VehicleAgent, b: VehicleAgent, z_min: float) -> bool:
    a0, a1 = vehicle_interval(a, z_min)
    b0, b1 = vehicle_interval(b, z_min)
    t0, t1 = max(a0, b0), min(a1, b1)
    if t0 > t1:
        return False
    # who leads (closer to the camera) must stay VEHICLE_GAP_M ahead over the whole overlap
    gaps = [b.z_at(t, z_min) - a.z_at(t, z_min) for t in (t0, t1)]
    if gaps[0] * gaps[1] <= 0:
        return True  # they would pass through each other
    return min(abs(g) for g in gaps) < VEHICLE_GAP_M


def _fits(agent: VehicleAgent, lane: list[VehicleAgent], z_min: float) -> bool:
    return not any(_lane_conflict(agent, o, z_min) for o in lane)


def _tour(cams: list[int], rows: list[dict]) -> list[int]:
    """Nearest-neighbour chain starting from a portico (a city entry) when there is one."""
    if not cams:
        return []
    start = next((c for c in cams if rows[c]["kind"] == "portico"), cams[0])
    order, left = [start], [c for c in cams if c != start]
    while left:
        last = rows[order[-1]]
        nxt = min(left, key=lambda c: haversine_m(last["lat"], last["lon"], rows[c]["lat"], rows[c]["lon"]))
        order.append(nxt)
        left.remove(nxt)
    return order


def _pick_format(mix: dict[str, float], rng: np.random.Generator) -> str:
    names = sorted(mix)
    p = np.array([mix[n] for n in names], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


@dataclass
class _Registry:
    rng: np.random.Generator
    mix: dict[str, float]
    letters: str
    seed: int
    specs: dict[str, VehicleSpec] = field(default_factory=dict)
    plates: set[str] = field(default_factory=set)

    def new(self) -> VehicleSpec:
        fmt = _pick_format(self.mix, self.rng)
        while True:
            plate = make_plate(fmt, self.rng, self.letters)
            if plate not in self.plates:
                break
        self.plates.add(plate)
        vid = "veh-" + stable_id(self.seed, plate, length=12)
        spec = random_vehicle(vid, plate, fmt, self.rng)
        self.specs[vid] = spec
        return spec


def _agent(
    spec: VehicleSpec, t_pass: float, speed: float, rng: np.random.Generator, diff: dict, routed: bool
) -> VehicleAgent:
    return VehicleAgent(
        spec=spec,
        lane_dx=float(rng.uniform(-0.18, 0.18)),
        speed=speed,
        t_pass=t_pass,
        roll_deg=float(rng.uniform(-1, 1) * diff["roll"]),
        keystone=float(rng.uniform(-1, 1) * diff["keystone"]),
        routed=routed,
    )


def _speed(plan: CameraPlan, rng: np.random.Generator) -> float:
    lo, hi = (8.0, 14.0) if plan.scene == "portico" else (5.0, 11.0)
    return float(rng.uniform(lo, hi))


def plan_city(
    plans: list[CameraPlan],
    sessions: dict[str, list[int]],
    session_start: dict[str, dt.datetime],
    duration_s: float,
    plate_mix: dict[str, float],
    difficulty: dict,
    identities: list[str],
    seed: int,
) -> CityPlan:
    """Fill each camera plan with vehicles and pedestrians (and set each clip's start time)."""
    rng = np.random.default_rng([seed, 101])
    reg = _Registry(rng, plate_mix, difficulty["letters"], seed)
    D = duration_s
    rows = [p.row for p in plans]
    sightings: dict[str, list[tuple[str, float]]] = {}
    convoys: list[dict] = []
    lanes: dict[int, list[VehicleAgent]] = {p.index: [] for p in plans}

    def place(
        cam: int,
        spec: VehicleSpec,
        lo: float,
        hi: float,
        speed: float | None = None,
        routed: bool = True,
        tries: int = 30,
    ) -> VehicleAgent | None:
        plan = plans[cam]
        if hi < lo:
            return None
        for _ in range(tries):
            a = _agent(spec, float(rng.uniform(lo, hi)), speed or _speed(plan, rng), rng, difficulty, routed)
            if _fits(a, lanes[cam], plan.geometry.z_min):
                lanes[cam].append(a)
                sightings.setdefault(spec.vehicle_id, []).append((plan.row["camera_id"], a.t_pass))
                return a
        return None

    margin = min(0.6, D / 4)
    for session, cams in sessions.items():
        tour = _tour(cams, rows)
        offsets = {tour[0]: 0.0} if tour else {}
        legs: dict[int, float] = {}
        for a, b in zip(tour, tour[1:], strict=False):
            d = haversine_m(rows[a]["lat"], rows[a]["lon"], rows[b]["lat"], rows[b]["lon"]) * DETOUR
            legs[b] = d / CITY_SPEED_MS + 4.0  # plus a traffic light
            offsets[b] = offsets[a] + legs[b]
        for c in tour:
            plans[c].start_ts = session_start[session] + dt.timedelta(seconds=round(offsets[c], 3))
        if len(tour) < 2:
            continue
        n_routed = max(2, round(3.0 * len(tour) * D / 60.0))
        n_convoys = max(1, n_routed // 8)
        for r in range(n_routed):
            i0 = int(rng.integers(0, len(tour) - 1))
            i1 = int(rng.integers(i0 + 1, len(tour)))
            path = [tour[i0]] + [c for c in tour[i0 + 1 : i1] if rng.random() > 0.2] + [tour[i1]]
            members = [reg.new()]
            if r < n_convoys:
                members += [reg.new() for _ in range(int(rng.integers(1, 3)))]
            placed: list[list[VehicleAgent]] = [[] for _ in members]
            prev: tuple[int, float] | None = None  # (camera, absolute pass time) of the last sighting
            for cam in path:
                lo = margin
                if prev is not None:  # no faster than twice the city speed since the previous camera
                    lo = max(lo, prev[1] - offsets[cam] + 0.5 * (offsets[cam] - offsets[prev[0]]))
                hi = D - margin
                lead = place(cam, members[0], lo, hi)
                if lead is None:
                    continue
                placed[0].append(lead)
                t = lead.t_pass
                for k, m in enumerate(members[1:], start=1):
                    gap = float(rng.uniform(1.6, 3.2))
                    follower = place(cam, m, t + gap, t + gap + 0.8, speed=lead.speed)
                    if follower is not None:
                        placed[k].append(follower)
                        t = follower.t_pass
                prev = (cam, offsets[cam] + lead.t_pass)
            if len(members) > 1:
                convoys.append(
                    {
                        "convoy_id": "convoy-" + stable_id(seed, *[m.plate for m in members], length=10),
                        "vehicle_ids": [m.vehicle_id for m in members],
                        "plates": [m.plate for m in members],
                        "cameras": sorted({plans[c].row["camera_id"] for c in path}),
                    }
                )
    # local traffic: one camera each, pre- and post-roll included
    for plan in plans:
        mean_gap = 3.2 if plan.scene == "portico" else 4.5
        t = -2.0
        z_min = plan.geometry.z_min
        while True:
            t += float(rng.exponential(mean_gap)) + 0.6
            speed = _speed(plan, rng)
            if t - (Z_FAR_V - z_min) / speed > D:
                break
            spec = reg.new()
            agent = _agent(spec, t, speed, rng, difficulty, routed=False)
            if _fits(agent, lanes[plan.index], z_min):
                lanes[plan.index].append(agent)
                sightings.setdefault(spec.vehicle_id, []).append((plan.row["camera_id"], agent.t_pass))
            else:
                del reg.specs[spec.vehicle_id]
        plan.vehicles = sorted(lanes[plan.index], key=lambda a: a.t_pass)
        if plan.scene == "street":
            plan.peds = _pedestrians(plan, D, identities, rng, seed)
    used = {a.spec.vehicle_id for p in plans for a in p.vehicles}
    specs = {k: v for k, v in reg.specs.items() if k in used}
    return CityPlan(plans, specs, sightings, convoys)


_SHIRTS = [
    (200, 40, 40),
    (40, 70, 160),
    (235, 235, 230),
    (30, 30, 30),
    (60, 120, 70),
    (220, 180, 60),
    (130, 130, 135),
    (150, 80, 150),
    (90, 60, 40),
    (240, 140, 60),
]
_PANTS = [(35, 40, 60), (25, 25, 28), (90, 80, 65), (60, 65, 70), (150, 140, 120)]
_HAIR = [(20, 16, 14), (55, 38, 25), (95, 70, 45), (140, 130, 120)]


def _pedestrians(
    plan: CameraPlan, D: float, identities: list[str], rng: np.random.Generator, seed: int
) -> list[PedAgent]:
    x0, x1 = plan.layout.walk_x
    peds: list[PedAgent] = []
    t = -6.0
    n = 0
    window = (Z_FAR_P - Z_GONE_P) / 1.1 + 1.0  # longest time one pedestrian is on screen
    while t < D + (Z_FAR_P - Z_REF_P) / 1.1:
        t += float(rng.exponential(2.2)) + 0.6
        toward = bool(identities) and rng.random() < 0.75
        speed = float(rng.uniform(1.1, 1.6))
        ident = None
        if toward:  # one person is never on screen twice at once
            busy = {p.identity for p in peds if p.toward and abs(p.t_ref - t) < window}
            free = [i for i in identities if i not in busy]
            if not free:
                toward = False
            else:
                ident = free[int(rng.integers(len(free)))]
        # towards the camera on the curb side, away from it on the building side: they never collide
        x = float(rng.uniform(x0, x1) if toward else rng.uniform(x1 + 0.35, x1 + 1.5))
        cand = PedAgent(
            ped_id=stable_id(seed, plan.row["camera_id"], "ped", n, length=12),
            identity=ident,
            toward=toward,
            x=x,
            speed=speed,
            t_ref=t,
            height_m=float(rng.uniform(1.58, 1.86)),
            shirt=_SHIRTS[int(rng.integers(len(_SHIRTS)))],
            pants=_PANTS[int(rng.integers(len(_PANTS)))],
            hair=_HAIR[int(rng.integers(len(_HAIR)))],
            phase0=float(rng.uniform(0, 2 * math.pi)),
        )
        if any(_ped_conflict(cand, p) for p in peds):
            continue
        peds.append(cand)
        n += 1
    return peds


def _ped_conflict(a: PedAgent, b: PedAgent) -> bool:
    """Two pedestrians in one file (same direction, less than a shoulder width apart) get closer
    than 1.2 m while both are on screen."""
    if (
        abs(a.x - b.x) >= 0.5
        or a.toward != b.toward
        or abs(a.t_ref - b.t_ref) > 2 * (Z_FAR_P - Z_GONE_P) / 1.1
    ):
        return False
    ts = np.linspace(min(a.t_ref, b.t_ref) - 25, max(a.t_ref, b.t_ref) + 25, 101)
    za = np.array([a.z_at(t) for t in ts])
    zb = np.array([b.z_at(t) for t in ts])
    both = (za > Z_GONE_P) & (za < Z_FAR_P) & (zb > Z_GONE_P) & (zb < Z_FAR_P)
    return bool(np.any(both & (np.abs(za - zb) < 1.2)))


def plate_formats() -> list[str]:
    return sorted(FORMATS)
