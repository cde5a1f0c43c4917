"""Where the synthetic cameras stand: city presets (bounding box, time zone, plate mix, street names)
and camera placement on H3 cells — street cameras around the centre, ring porticos at the entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import h3
import numpy as np

__all__ = ["CITY_PRESETS", "CityPreset", "haversine_m", "parse_bbox", "resolve_city", "place_cameras"]

H3_RES = 9


@dataclass(frozen=True)
class CityPreset:
    name: str
    code: str  # short prefix of camera ids
    bbox: tuple[float, float, float, float]  # (min_lon, min_lat, max_lon, max_lat)
    utc_offset_h: float  # standard time offset from UTC
    plate_mix: dict[str, float]  # plate format -> share of vehicles
    streets: tuple[str, ...] = field(default_factory=tuple)


_DEFAULT_STREETS = (
    "Av. Principal",
    "Av. Central",
    "Calle 1",
    "Calle 2",
    "Av. Norte",
    "Av. Sur",
    "Av. del Puerto",
    "Av. de los Pinos",
    "Calle Comercio",
    "Av. Libertad",
)

CITY_PRESETS: dict[str, CityPreset] = {
    "asuncion": CityPreset(
        name="asuncion",
        code="ASU",
        bbox=(-57.675, -25.345, -57.525, -25.245),
        utc_offset_h=-3.0,
        plate_mix={"PY": 0.62, "AR": 0.12, "BR": 0.14, "UY": 0.05, "PE": 0.03, "SV": 0.04},
        streets=(
            "Av. Mariscal López",
            "Av. España",
            "Av. Eusebio Ayala",
            "Av. Artigas",
            "Av. Santísima Trinidad",
            "Av. Mcal. Estigarribia",
            "Av. Fernando de la Mora",
            "Av. Brasilia",
            "Av. Perú",
            "Av. San Martín",
            "Av. Aviadores del Chaco",
            "Av. Madame Lynch",
            "Av. Costanera",
            "Av. General Santos",
            "Av. Primer Presidente",
        ),
    ),
    "buenos_aires": CityPreset(
        name="buenos_aires",
        code="BUE",
        bbox=(-58.530, -34.705, -58.335, -34.530),
        utc_offset_h=-3.0,
        plate_mix={"AR": 0.70, "BR": 0.10, "UY": 0.08, "PY": 0.07, "PE": 0.03, "SV": 0.02},
        streets=(
            "Av. Corrientes",
            "Av. Santa Fe",
            "Av. Rivadavia",
            "Av. Cabildo",
            "Av. 9 de Julio",
            "Av. Belgrano",
            "Av. Callao",
            "Av. Córdoba",
            "Av. del Libertador",
            "Av. Juan B. Justo",
            "Av. General Paz",
            "Av. San Juan",
            "Av. Independencia",
            "Av. Pueyrredón",
            "Av. Directorio",
        ),
    ),
    "lima": CityPreset(
        name="lima",
        code="LIM",
        bbox=(-77.100, -12.180, -76.950, -12.020),
        utc_offset_h=-5.0,
        plate_mix={"PE": 0.72, "AR": 0.05, "BR": 0.06, "PY": 0.03, "UY": 0.03, "SV": 0.11},
        streets=(
            "Av. Arequipa",
            "Av. Javier Prado",
            "Av. José Larco",
            "Av. Benavides",
            "Av. Brasil",
            "Av. La Marina",
            "Av. Abancay",
            "Av. Angamos",
            "Av. Primavera",
            "Vía Expresa",
            "Av. Petit Thouars",
            "Av. Salaverry",
            "Av. Pardo",
            "Av. Diagonal",
            "Av. Grau",
        ),
    ),
}

_GENERIC_MIX = {"AR": 0.2, "BR": 0.2, "PY": 0.15, "UY": 0.15, "PE": 0.15, "SV": 0.15}


def parse_bbox(text: str | tuple[float, ...] | list[float]) -> tuple[float, float, float, float]:
    """``"min_lon,min_lat,max_lon,max_lat"`` (or a 4-sequence) -> checked tuple."""
    if isinstance(text, str):
        parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
        try:
            vals = [float(p) for p in parts]
        except ValueError as exc:
            raise ValueError(f"bbox must be four numbers min_lon,min_lat,max_lon,max_lat: {text!r}") from exc
    else:
        vals = [float(v) for v in text]
    if len(vals) != 4:
        raise ValueError(f"bbox must be four numbers min_lon,min_lat,max_lon,max_lat, got {len(vals)}")
    a, b, c, d = vals
    if not (-180 <= a < c <= 180 and -90 <= b < d <= 90):
        raise ValueError(f"bbox needs min_lon < max_lon and min_lat < max_lat within WGS84 range: {vals}")
    return (a, b, c, d)


def resolve_city(city: str | None, bbox: tuple[float, float, float, float] | str | None) -> CityPreset:
    """A preset by name, a preset with its box replaced, or a custom city from a bbox.

    ``city`` may itself be a bbox string (``"-57.7,-25.4,-57.5,-25.2"``)."""
    if city and city.lower().replace("-", "_").replace(" ", "_") in CITY_PRESETS:
        preset = CITY_PRESETS[city.lower().replace("-", "_").replace(" ", "_")]
        if bbox is None:
            return preset
        return CityPreset(
            preset.name, preset.code, parse_bbox(bbox), preset.utc_offset_h, preset.plate_mix, preset.streets
        )
    if city and bbox is None and any(ch.isdigit() for ch in city):
        bbox, city = city, None
    if bbox is None:
        raise ValueError(f"unknown city {city!r}; use one of {sorted(CITY_PRESETS)} or give a bbox")
    box = parse_bbox(bbox)
    lon_c = (box[0] + box[2]) / 2
    return CityPreset(
        name=city or "custom",
        code="CTY",
        bbox=box,
        utc_offset_h=round(lon_c / 15.0),
        plate_mix=dict(_GENERIC_MIX),
        streets=_DEFAULT_STREETS,
    )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


@dataclass
class Site:
    lat: float
    lon: float
    cell: str
    heading: float
    kind: str  # "street" | "portico"
    label: str  # street name(s)


def place_cameras(preset: CityPreset, n_street: int, n_portico: int, rng: np.random.Generator) -> list[Site]:
    """Porticos on the city's edge (entries, spread around the ring), then street cameras clustered
    around the centre, each on its own H3 cell centre (resolution 9)."""
    min_lon, min_lat, max_lon, max_lat = preset.bbox
    c_lat, c_lon = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
    used: set[str] = set()
    sites: list[Site] = []
    streets = list(preset.streets) or list(_DEFAULT_STREETS)
    phase = rng.uniform(0, 2 * math.pi)
    for i in range(n_portico):
        ang = phase + 2 * math.pi * i / max(1, n_portico) + rng.uniform(-0.2, 0.2)
        dx, dy = math.cos(ang), math.sin(ang)
        # ray from the centre to the box edge, 4 % inside
        tx = (max_lon - c_lon) / abs(dx) if abs(dx) > 1e-9 else math.inf
        ty = (max_lat - c_lat) / abs(dy) if abs(dy) > 1e-9 else math.inf
        t = 0.96 * min(tx, ty)
        lat, lon = c_lat + dy * t, c_lon + dx * t
        cell = _free_cell(lat, lon, used)
        lat, lon = h3.cell_to_latlng(cell)
        heading = bearing_deg(c_lat, c_lon, lat, lon)  # looks outwards, at the incoming traffic
        road = streets[i % len(streets)]
        sites.append(Site(lat, lon, cell, round(heading, 1), "portico", f"Pórtico acceso {i + 1} ({road})"))
    sd_lat, sd_lon = (max_lat - min_lat) * 0.22, (max_lon - min_lon) * 0.22
    for _ in range(n_street):
        lat = float(
            np.clip(
                rng.normal(c_lat, sd_lat),
                min_lat + 0.08 * (max_lat - min_lat),
                max_lat - 0.08 * (max_lat - min_lat),
            )
        )
        lon = float(
            np.clip(
                rng.normal(c_lon, sd_lon),
                min_lon + 0.08 * (max_lon - min_lon),
                max_lon - 0.08 * (max_lon - min_lon),
            )
        )
        cell = _free_cell(lat, lon, used)
        lat, lon = h3.cell_to_latlng(cell)
        heading = (90.0 * int(rng.integers(0, 4)) + rng.uniform(-12, 12)) % 360.0
        a, b = rng.choice(len(streets), size=2, replace=False)
        sites.append(Site(lat, lon, cell, round(heading, 1), "street", f"{streets[a]} y {streets[b]}"))
    return sites


def _free_cell(lat: float, lon: float, used: set[str]) -> str:
    """The H3 cell at (lat, lon), or the nearest unused one around it."""
    cell = h3.latlng_to_cell(lat, lon, H3_RES)
    k = 0
    while True:
        ring = sorted(h3.grid_ring(cell, k)) if k else [cell]
        for c in ring:
            if c not in used:
                used.add(c)
                return c
        k += 1
