"""A synthetic city with HARD planted movement cases and their ground truth (reads level).

Fast (pure Python, no video): it writes ``plate_reads`` rows as the extraction would, plus the
``cameras`` and ``incidents`` rows, and returns the truth every movement tool is scored against.

Background that makes the planted cases hard:

- random drivers (self-avoiding walks over a camera grid, mostly by day, some at night);
- daily commuters (same route, same time of day every day, there and back);
- buses that pass every street camera in a loop all day (they meet everybody);
- taxis with many trips a day;
- OCR misreads: a read whose best text is another active plate, with a low confidence or an
  ambiguous second candidate (these must never become "cloned plate" hits).

Planted cases: convoys (a partner 10-50 s behind a target at 3-7 cameras, some across UTC
midnight; each target also has a decoy that coincides with it at only two cameras), stakeout
vehicles (present in 3 place x time windows), crime series (an offender passing near 3 of 4
incidents), circling vehicles, repeated night visitors and cloned plates (two cars, one plate,
far apart at the same time).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from lakehouse.ids import stable_id

MODEL_VERSION = "scenario-v1"
HOME_TZ = "America/Asuncion"
AGENCIES = ("municipal", "police911")
ORIGIN = (-25.40, -57.70)  # south-west corner of the camera grid
SPACING_DEG = 0.02  # ~2 km between neighbouring cameras


@dataclass
class Window:
    """A place x time window (for stakeout truth): cameras and [start, end)."""

    cameras: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime


@dataclass
class Truth:
    convoys: list[tuple[str, str, dt.datetime, dt.datetime]] = field(
        default_factory=list
    )  # target, partner, from, to
    convoy_decoys: dict[str, str] = field(default_factory=dict)  # target -> plate meeting it at two cameras
    stakeouts: list[tuple[str, list[Window]]] = field(default_factory=list)  # planted plate, its windows
    crime_series: list[tuple[str, list[str]]] = field(default_factory=list)  # offender plate, incident ids
    circling: set[str] = field(default_factory=set)
    night_visits: set[str] = field(default_factory=set)
    clones: set[str] = field(default_factory=set)
    misreads: int = 0  # planted misread reads
    ring_od: Counter = field(default_factory=Counter)  # (entry portico, exit portico) -> trips
    ring_stayed: set[str] = field(default_factory=set)  # entered and did not leave
    buses: list[str] = field(default_factory=list)
    commuters: list[str] = field(default_factory=list)

    def anomalies(self) -> set[tuple[str, str]]:
        return (
            {("circling", p) for p in self.circling}
            | {("night_visits", p) for p in self.night_visits}
            | {("clone", p) for p in self.clones}
        )


@dataclass
class Scenario:
    rows: list[dict[str, Any]]
    cameras: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    truth: Truth
    start: dt.datetime  # first instant (UTC)
    end: dt.datetime  # exclusive
    tz: str = HOME_TZ

    def write_to(self, lh: Any) -> None:
        """Register the cameras and write the reads and incidents into ``lh`` (a Lakehouse)."""
        lh.upsert("cameras", self.cameras)
        lh.append("plate_reads", self.rows)
        lh.append("incidents", self.incidents)


class _City:
    def __init__(self, rng: random.Random, cols: int, rows: int):
        self.rng = rng
        self.cols, self.nrows = cols, rows
        self.grid: dict[tuple[int, int], str] = {}
        self.cameras: list[dict[str, Any]] = []
        for y in range(rows):
            for x in range(cols):
                cid = f"C{y:02d}{x:02d}"
                self.grid[(x, y)] = cid
                agency = AGENCIES[1] if (x >= cols - 2 and y >= rows - 2) else AGENCIES[0]
                self.cameras.append(
                    {
                        "camera_id": cid,
                        "agency": agency,
                        "name": f"street {x},{y}",
                        "kind": "street",
                        "lat": ORIGIN[0] + y * SPACING_DEG,
                        "lon": ORIGIN[1] + x * SPACING_DEG,
                        "heading": None,
                        "shared_with": [],
                    }
                )
        self.pos = {v: k for k, v in self.grid.items()}
        self.street = [c["camera_id"] for c in self.cameras]
        # ring porticos on the four sides: one camera per direction of travel (heading = travel direction)
        cy, cx = ORIGIN[0] + (rows - 1) * SPACING_DEG / 2, ORIGIN[1] + (cols - 1) * SPACING_DEG / 2
        self.porticos: dict[
            str, tuple[str, str, str]
        ] = {}  # name -> (in camera, out camera, street neighbour)
        sides = {
            "N": (cx, cy + (rows / 2 + 0.5) * SPACING_DEG, 180.0, (cols // 2, rows - 1)),
            "S": (cx, cy - (rows / 2 + 0.5) * SPACING_DEG, 0.0, (cols // 2, 0)),
            "E": (cx + (cols / 2 + 0.5) * SPACING_DEG, cy, 270.0, (cols - 1, rows // 2)),
            "W": (cx - (cols / 2 + 0.5) * SPACING_DEG, cy, 90.0, (0, rows // 2)),
        }
        for name, (lon, lat, inward, cell) in sides.items():
            for d, heading in (("in", inward), ("out", (inward + 180.0) % 360)):
                self.cameras.append(
                    {
                        "camera_id": f"P{name}-{d}",
                        "agency": AGENCIES[0],
                        "name": f"portico {name} {d}bound",
                        "kind": "portico",
                        "lat": lat,
                        "lon": lon,
                        "heading": heading,
                        "shared_with": [],
                    }
                )
            self.porticos[name] = (f"P{name}-in", f"P{name}-out", self.grid[cell])

    def neighbours(self, cam: str) -> list[str]:
        x, y = self.pos[cam]
        return [self.grid[p] for p in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)) if p in self.grid]

    def walk(self, length: int, start: str | None = None) -> list[str]:
        """A self-avoiding walk over neighbouring cameras (never revisits a camera)."""
        for _ in range(50):
            path = [start or self.rng.choice(self.street)]
            while len(path) < length:
                nxt = [c for c in self.neighbours(path[-1]) if c not in path]
                if not nxt:
                    break
                path.append(self.rng.choice(nxt))
            if len(path) == length:
                return path
        return path

    def loop(self) -> list[str]:
        """A serpentine over every street camera (the bus route)."""
        out = []
        for y in range(self.nrows):
            xs = range(self.cols) if y % 2 == 0 else range(self.cols - 1, -1, -1)
            out += [self.grid[(x, y)] for x in xs]
        return out


class _Plates:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def new(self) -> str:
        while True:
            p = "".join(self.rng.choices(string.ascii_uppercase, k=3)) + "".join(
                self.rng.choices(string.digits, k=3)
            )
            if p not in self.used:
                self.used.add(p)
                return p


#: a small city (4 days, 120 vehicles, every planted case at least once) for CLI and app tests
SMALL_CITY: dict[str, Any] = dict(
    days=4,
    vehicles=120,
    commuters=10,
    taxis=3,
    convoys=4,
    stakeouts=2,
    series=2,
    circling=2,
    night_visitors=1,
    clones=1,
    misreads=5,
    tz="UTC",
)


def simulate_city(
    *,
    day0: dt.date = dt.date(2026, 3, 2),
    days: int = 7,
    vehicles: int = 600,
    commuters: int = 40,
    buses: int = 2,
    taxis: int = 10,
    convoys: int = 20,
    stakeouts: int = 10,
    series: int = 10,
    circling: int = 5,
    night_visitors: int = 5,
    clones: int = 5,
    misreads: int = 40,
    cols: int = 6,
    rows: int = 4,
    seed: int = 0,
    tz: str = HOME_TZ,
) -> Scenario:
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    city = _City(rng, cols, rows)
    plates = _Plates(rng)
    truth = Truth()
    out: list[dict[str, Any]] = []
    local0 = dt.datetime(day0.year, day0.month, day0.day, tzinfo=zone)
    start = local0.astimezone(dt.UTC)
    end = (local0 + dt.timedelta(days=days)).astimezone(dt.UTC)
    where = {c["camera_id"]: c for c in city.cameras}

    def at(day: int, hour: float) -> dt.datetime:
        """Local time of day ``hour`` on day ``day`` -> UTC."""
        return (local0 + dt.timedelta(days=day, hours=hour)).astimezone(dt.UTC)

    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    gap = dt.timedelta(minutes=30)  # between two trips of one vehicle: never a physically impossible hop

    def read(
        plate: str,
        cam: str,
        ts: dt.datetime,
        *,
        conf: float | None = None,
        candidates: list[tuple[str, float]] | None = None,
        track: bool = True,
    ) -> None:
        if track:
            busy[plate].append((ts, ts))
        if not (start <= ts < end):
            return
        c = round(rng.uniform(0.75, 0.99), 3) if conf is None else conf
        cands = candidates or [(plate, c)]
        out.append(
            {
                "read_id": stable_id("scn", plate, cam, ts.isoformat(), len(out)),
                "camera_id": cam,
                "ts": ts,
                "plate": plate,
                "plate_raw": plate,
                "confidence": c,
                "candidates": [{"text": t, "score": s} for t, s in cands],
                "model_version": MODEL_VERSION,
                "agency": where[cam]["agency"],
            }
        )

    def drive(
        plate: str, path: list[str], t: dt.datetime, hop: tuple[float, float] = (120, 360), shift: bool = True
    ) -> list[dt.datetime]:
        """One trip; with ``shift`` it starts later if the vehicle is still busy (one car, one place)."""
        offsets = [0.0]
        for a, b in zip(path, path[1:], strict=False):  # never faster than ~45 km/h between cameras
            offsets.append(offsets[-1] + max(rng.uniform(*hop), distance_m(where[a], where[b]) / 12.5))
        dur = dt.timedelta(seconds=offsets[-1])
        while shift and any(t - gap < b and a < t + dur + gap for a, b in busy[plate]):
            t += gap
        times = [t + dt.timedelta(seconds=o) for o in offsets]
        for cam, ts in zip(path, times, strict=True):
            read(plate, cam, ts, track=False)
        busy[plate].append((times[0], times[-1]))
        return times

    def day_hour() -> float:
        # mostly by day (06-22 local), 5 % at night
        return rng.uniform(6, 21.5) if rng.random() > 0.05 else rng.uniform(0, 5)

    # ---- background
    for _ in range(vehicles):
        p = plates.new()
        for d in range(days):
            for _ in range(rng.choice((0, 1, 1, 2))):
                drive(p, city.walk(rng.randint(3, 6)), at(d, day_hour()))
    for _ in range(commuters):
        p = plates.new()
        truth.commuters.append(p)
        home_to_work = city.walk(rng.randint(4, 6))
        h_out, h_back = rng.uniform(6.5, 8.5), rng.uniform(16.5, 18.5)
        for d in range(days):
            drive(p, home_to_work, at(d, h_out + rng.uniform(-0.15, 0.15)))
            drive(p, home_to_work[::-1], at(d, h_back + rng.uniform(-0.15, 0.15)))
    loop = city.loop()
    for b in range(buses):
        p = plates.new()
        truth.buses.append(p)
        for d in range(days):
            t, route = at(d, 5 + b * 0.5), loop if b % 2 == 0 else loop[::-1]
            while t < at(d, 23):
                times = drive(p, route, t, hop=(150, 210), shift=False)
                t, route = times[-1] + dt.timedelta(minutes=5), route[::-1]
    for _ in range(taxis):
        p = plates.new()
        for d in range(days):
            for _ in range(rng.randint(6, 10)):
                drive(p, city.walk(rng.randint(2, 4)), at(d, rng.uniform(6, 22.5)))
    # ring traffic: enter at one portico, pass streets, leave at another (or stay)
    for _ in range(vehicles // 3):
        p = plates.new()
        d = rng.randrange(days)
        names = list(city.porticos)
        gate_in = rng.choice(names)
        cam_in, _, first = city.porticos[gate_in]
        path = [cam_in, *city.walk(rng.randint(2, 4), start=first)]
        if rng.random() < 0.7:
            gate_out = rng.choice([n for n in names if n != gate_in])
            path.append(city.porticos[gate_out][1])
            truth.ring_od[(f"portico {gate_in}", f"portico {gate_out}")] += 1
        else:
            truth.ring_stayed.add(p)
        drive(p, path, at(d, rng.uniform(6, 20)))

    # ---- planted convoys (+ a two-camera decoy per target)
    for i in range(convoys):
        target, partner, decoy = plates.new(), plates.new(), plates.new()
        d = rng.randrange(days)
        if i % 4 == 0:  # across UTC midnight
            utc_mid = dt.datetime.combine(day0 + dt.timedelta(days=max(d, 1)), dt.time(), tzinfo=dt.UTC)
            t0 = utc_mid - dt.timedelta(minutes=rng.uniform(8, 14))
        else:
            t0 = at(d, rng.uniform(7, 20))
        path = city.walk(rng.randint(5, 7))
        times = drive(target, path, t0, shift=False)
        follow = rng.randint(3, len(path))
        j0 = rng.randint(0, len(path) - follow)
        for cam, t in list(zip(path, times, strict=True))[j0 : j0 + follow]:
            read(partner, cam, t + dt.timedelta(seconds=rng.uniform(10, 50)))
        for cam, t in rng.sample(list(zip(path, times, strict=True)), 2):
            read(decoy, cam, t - dt.timedelta(seconds=rng.uniform(5, 40)))
        for p in (target, partner, decoy):  # ordinary life on other days
            for dd in rng.sample(range(days), min(days, 3)):
                if dd != d:
                    drive(p, city.walk(rng.randint(3, 5)), at(dd, day_hour()))
        truth.convoys.append(
            (target, partner, times[0] - dt.timedelta(hours=1), times[-1] + dt.timedelta(hours=1))
        )
        truth.convoy_decoys[target] = decoy

    # ---- planted stakeout vehicles: present in 3 place x time windows
    for _ in range(stakeouts):
        p = plates.new()
        wins = []
        for d in rng.sample(range(days), 3):
            cam = rng.choice(city.street)
            h = rng.uniform(8, 20)
            w0 = at(d, h)
            win = Window((cam, *city.neighbours(cam)[:1]), w0, w0 + dt.timedelta(hours=1))
            wins.append(win)
            t = w0 + dt.timedelta(minutes=rng.uniform(5, 55))
            read(p, rng.choice(city.neighbours(cam)), t - dt.timedelta(minutes=3))
            read(p, cam, t)
        truth.stakeouts.append((p, wins))

    # ---- planted crime series: offender near 3 of 4 incidents
    incidents: list[dict[str, Any]] = []
    for s in range(series):
        p = plates.new()
        ids = []
        hit = rng.sample(range(4), 3)
        for k in range(4):
            cam = rng.choice(city.street)
            c = where[cam]
            ts = at(rng.randrange(days), rng.uniform(8, 22))
            iid = f"INC-{s:02d}-{k}"
            ids.append(iid)
            incidents.append(
                {
                    "incident_id": iid,
                    "ts": ts,
                    "ts_end": None,
                    "lat": c["lat"] + rng.uniform(-0.001, 0.001),
                    "lon": c["lon"] + rng.uniform(-0.001, 0.001),
                    "type": "ROBBERY",
                    "description": f"series {s}",
                    "source": "scenario",
                    "agency": "police911",
                }
            )
            if k in hit:
                read(p, cam, ts + dt.timedelta(minutes=rng.uniform(-20, 20)))
        for dd in rng.sample(range(days), 2):
            drive(p, city.walk(3), at(dd, day_hour()))
        truth.crime_series.append((p, ids))

    # ---- anomalies
    for _ in range(circling):
        p = plates.new()
        a = rng.choice(city.street)
        ring = [a, *city.walk(3, start=a)[1:]]
        t = at(rng.randrange(days), rng.uniform(9, 19))
        for _lap in range(4):
            times = drive(p, ring, t, hop=(150, 240), shift=False)
            t = times[-1] + dt.timedelta(seconds=rng.uniform(150, 240))
        truth.circling.add(p)
    for _ in range(night_visitors):
        p = plates.new()
        cam = rng.choice(city.street)
        for d in rng.sample(range(1, days), 3):
            read(p, cam, at(d, rng.uniform(0.5, 3.5)))
        drive(p, city.walk(4), at(0, 12))
        truth.night_visits.add(p)
    for _ in range(clones):
        p = plates.new()
        d = rng.randrange(days)
        h = rng.uniform(9, 18)
        west = [c for c in city.street if city.pos[c][0] == 0]
        east = [c for c in city.street if city.pos[c][0] == cols - 1]
        drive(p, city.walk(3, start=rng.choice(west)), at(d, h))
        drive(p, city.walk(3, start=rng.choice(east)), at(d, h + rng.uniform(0.01, 0.03)), shift=False)
        truth.clones.add(p)

    planted = (
        {p for c in truth.convoys for p in c[:2]}
        | set(truth.convoy_decoys.values())
        | {p for p, _ in truth.stakeouts}
        | {p for p, _ in truth.crime_series}
        | truth.circling
        | truth.night_visits
        | truth.clones
    )

    # ---- OCR misreads: a read of one vehicle whose best text is another active plate
    # the wrong text is a plate read a few minutes away at another camera: a would-be impossible hop
    out.sort(key=lambda r: (r["ts"], r["read_id"]))
    protected = planted | set(truth.buses)
    done = tries = 0
    while done < misreads and tries < 100 * misreads:
        tries += 1
        i = rng.randrange(len(out))
        j = min(len(out) - 1, max(0, i + rng.randint(-30, 30)))
        victim, other = out[i], out[j]
        if (
            victim["plate"] == other["plate"]
            or victim["camera_id"] == other["camera_id"]
            or victim["plate"] in protected
            or other["plate"] in protected
            or victim["confidence"] < 0.7
            or len(victim["candidates"]) > 1
            or "portico" in (where[victim["camera_id"]]["kind"], where[other["camera_id"]]["kind"])
        ):
            continue
        true_text, wrong = victim["plate"], other["plate"]
        if rng.random() < 0.5:
            conf, cands = round(rng.uniform(0.35, 0.55), 3), [(wrong, 0.5), (true_text, 0.3)]
        else:
            conf, cands = round(rng.uniform(0.6, 0.8), 3), [(wrong, 0.6), (true_text, 0.55)]
        victim.update(
            plate=wrong,
            plate_raw=wrong,
            confidence=conf,
            candidates=[{"text": t, "score": s} for t, s in cands],
        )
        done += 1
    truth.misreads = done
    return Scenario(out, city.cameras, incidents, truth, start, end, tz)


def distance_m(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Great-circle distance between two camera rows (for tests)."""
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dl = math.radians(b["lon"] - a["lon"])
    x = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(x))


__all__ = ["HOME_TZ", "MODEL_VERSION", "Scenario", "Truth", "Window", "simulate_city"]
