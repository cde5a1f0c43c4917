"""Car-shaped vehicles seen from the front, carrying their plate: specs and RGBA sprites.

A sprite is drawn once per vehicle at ``S0`` pixels per metre (with a mip pyramid for smaller
sizes); the renderer warps it into each frame. Sprite coordinates: ``x = (X + span/2) * S0``,
``y = (top - Y) * S0`` for a point ``X`` metres right of the car's centre and ``Y`` metres above the
road, so the anchor (road contact, centre) is the bottom-centre of the sprite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipelines.synth.plates import PLATE_H_M, PLATE_W_M, render_plate

__all__ = ["VehicleSpec", "VehicleSprite", "build_sprite", "random_vehicle"]

PLATE_BOTTOM_M = 0.30  # height of the plate's lower edge above the road

_MODELS = {
    # name: (width, height, hood height, roof width fraction, weight)
    "sedan": (1.78, 1.45, 0.86, 0.72, 0.34),
    "hatchback": (1.70, 1.50, 0.88, 0.74, 0.22),
    "suv": (1.90, 1.75, 1.02, 0.78, 0.22),
    "pickup": (1.88, 1.82, 1.08, 0.80, 0.10),
    "van": (1.95, 1.98, 1.00, 0.86, 0.08),
    "taxi": (1.76, 1.46, 0.86, 0.72, 0.04),
}
_COLORS = [
    ((236, 236, 232), 0.22, "white"),
    ((175, 178, 182), 0.18, "silver"),
    ((95, 98, 104), 0.14, "gray"),
    ((28, 28, 32), 0.14, "black"),
    ((150, 25, 28), 0.09, "red"),
    ((30, 55, 120), 0.09, "blue"),
    ((40, 75, 50), 0.04, "green"),
    ((190, 170, 130), 0.04, "beige"),
    ((120, 30, 40), 0.03, "maroon"),
    ((215, 180, 40), 0.03, "yellow"),
]


@dataclass
class VehicleSpec:
    vehicle_id: str
    plate: str
    plate_format: str
    model: str
    color: tuple[int, int, int]
    color_name: str
    width_m: float
    height_m: float
    hood_m: float
    roof_frac: float

    def as_dict(self) -> dict:
        return {
            "vehicle_id": self.vehicle_id,
            "plate": self.plate,
            "plate_format": self.plate_format,
            "model": self.model,
            "color": self.color_name,
        }


def random_vehicle(vehicle_id: str, plate: str, fmt: str, rng: np.random.Generator) -> VehicleSpec:
    names = list(_MODELS)
    w = np.array([_MODELS[n][4] for n in names])
    model = names[int(rng.choice(len(names), p=w / w.sum()))]
    width, height, hood, roof, _ = _MODELS[model]
    if model == "taxi":
        color, cname = (222, 190, 30), "yellow"
    else:
        cw = np.array([c[1] for c in _COLORS])
        color, _, cname = _COLORS[int(rng.choice(len(_COLORS), p=cw / cw.sum()))]
    jitter = rng.uniform(-0.04, 0.04)
    return VehicleSpec(
        vehicle_id,
        plate,
        fmt,
        model,
        (int(color[0]), int(color[1]), int(color[2])),
        cname,
        round(width + jitter, 3),
        round(height + 1.5 * jitter, 3),
        hood,
        roof,
    )


@dataclass
class VehicleSprite:
    levels: list[np.ndarray]  # RGBA uint8, level i is 2**-i of the base scale
    scale: float  # base scale, pixels per metre
    anchor: tuple[float, float]  # base-level pixel of the road contact (centre)
    plate_quad: np.ndarray  # (4, 2) plate corners at the base level (tl, tr, br, bl)
    lights: list[tuple[float, float]] = field(default_factory=list)  # headlight centres, base level
    top_m: float = 0.0


def _poly(points_m: list[tuple[float, float]], span: float, top: float, s: float) -> np.ndarray:
    return np.array([[(x + span / 2) * s, (top - y) * s] for x, y in points_m], np.float64)


def _fill(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...]) -> None:
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], color, lineType=cv2.LINE_AA, shift=4)


def build_sprite(spec: VehicleSpec, scale: float, night: bool = False) -> VehicleSprite:
    """Draw the vehicle's front at ``scale`` px/m (RGBA), plate included; ``night`` darkens the body
    and lights the headlights and the plate lamp."""
    s = float(scale)
    span = spec.width_m + 0.30  # mirrors stick out
    top = spec.height_m + 0.02
    W, H = int(np.ceil(span * s)), int(np.ceil(top * s))
    img = np.zeros((H, W, 4), np.uint8)
    w2 = spec.width_m / 2
    body = np.array(spec.color, np.float64)
    dark = tuple(int(c) for c in body * 0.55) + (255,)
    col = tuple(int(c) for c in body) + (255,)
    light = tuple(int(min(255, c * 1.12 + 12)) for c in body) + (255,)
    P = lambda pts: _poly(pts, span, top, s)  # noqa: E731

    # dark underside between the tyres (the car's own shadow on the road)
    _fill(
        img,
        P([(-w2 + 0.05, 0.0), (w2 - 0.05, 0.0), (w2 - 0.05, 0.24), (-w2 + 0.05, 0.24)]),
        (14, 14, 16, 235),
    )
    # tyres
    for sx in (-1, 1):
        x0 = sx * (w2 - 0.06)
        x1 = sx * (w2 - 0.30)
        _fill(img, P([(x0, 0.0), (x1, 0.0), (x1, 0.34), (x0, 0.34)]), (18, 18, 20, 255))
    # cabin (roof and pillars), windshield
    hood, roof_w = spec.hood_m, spec.width_m * spec.roof_frac / 2
    base_w = w2 - 0.05
    _fill(img, P([(-base_w, hood), (base_w, hood), (roof_w, top - 0.02), (-roof_w, top - 0.02)]), col)
    _fill(
        img,
        P(
            [
                (-base_w + 0.10, hood + 0.05),
                (base_w - 0.10, hood + 0.05),
                (roof_w - 0.07, top - 0.09),
                (-roof_w + 0.07, top - 0.09),
            ]
        ),
        (40, 48, 58, 255),
    )
    # mirrors
    for sx in (-1, 1):
        _fill(
            img,
            P(
                [
                    (sx * (w2 - 0.02), hood + 0.08),
                    (sx * (w2 + 0.14), hood + 0.10),
                    (sx * (w2 + 0.14), hood + 0.22),
                    (sx * (w2 - 0.02), hood + 0.22),
                ]
            ),
            dark,
        )
    # front face of the body (hood front down to the bumper)
    _fill(
        img,
        P(
            [
                (-w2, 0.22),
                (w2, 0.22),
                (w2, hood - 0.04),
                (w2 - 0.10, hood + 0.02),
                (-w2 + 0.10, hood + 0.02),
                (-w2, hood - 0.04),
            ]
        ),
        col,
    )
    # hood top band, lighter
    _fill(
        img,
        P(
            [
                (-w2 + 0.10, hood - 0.06),
                (w2 - 0.10, hood - 0.06),
                (w2 - 0.16, hood + 0.04),
                (-w2 + 0.16, hood + 0.04),
            ]
        ),
        light,
    )
    # bumper
    _fill(img, P([(-w2 + 0.02, 0.20), (w2 - 0.02, 0.20), (w2, 0.50), (-w2, 0.50)]), dark)
    # grille
    g_y0, g_y1 = 0.56, min(hood - 0.10, 0.80)
    _fill(img, P([(-0.36, g_y0), (0.36, g_y0), (0.40, g_y1), (-0.40, g_y1)]), (30, 30, 34, 255))
    for k in range(1, 4):
        yy = g_y0 + (g_y1 - g_y0) * k / 4
        _fill(
            img,
            P([(-0.37, yy - 0.008), (0.37, yy - 0.008), (0.37, yy + 0.008), (-0.37, yy + 0.008)]),
            (70, 70, 74, 255),
        )
    # headlights
    lights = []
    lamp_y0, lamp_y1 = min(hood - 0.18, 0.66), min(hood - 0.05, 0.80)
    for sx in (-1, 1):
        xa, xb = sx * (w2 - 0.08), sx * (w2 - 0.42)
        _fill(
            img,
            P([(xa, lamp_y0), (xb, lamp_y0 + 0.02), (xb, lamp_y1), (xa, lamp_y1 - 0.02)]),
            (205, 210, 214, 255),
        )
        cx = (xa + xb) / 2
        _fill(
            img,
            P(
                [
                    (cx - 0.07, lamp_y0 + 0.03),
                    (cx + 0.07, lamp_y0 + 0.03),
                    (cx + 0.07, lamp_y1 - 0.03),
                    (cx - 0.07, lamp_y1 - 0.03),
                ]
            ),
            (246, 246, 240, 255),
        )
        lights.append(((cx + span / 2) * s, (top - (lamp_y0 + lamp_y1) / 2) * s))
    # shading: lighter towards the top, a soft reflection on the windshield
    rgb = img[..., :3].astype(np.float32)
    ramp = np.linspace(1.08, 0.86, H, dtype=np.float32)[:, None, None]
    rgb *= ramp
    wy0, wy1 = int((top - (top - 0.09)) * s), int((top - (hood + 0.05)) * s)
    if wy1 > wy0:
        xs = np.arange(W, dtype=np.float32)[None, :]
        ys = np.arange(wy0, wy1, dtype=np.float32)[:, None]
        refl = np.clip(1.0 - np.abs((xs - W * 0.35) - (ys - wy0) * 0.8) / (0.18 * W), 0, 1) * 38
        rgb[wy0:wy1] += refl[..., None] * (img[wy0:wy1, :, 3:4] > 0)
    # plate
    ph = int(round(PLATE_H_M * s))
    plate = render_plate(spec.plate, spec.plate_format, ph).astype(np.float32)
    pw = plate.shape[1]
    px0 = int(round(W / 2 - pw / 2))
    py0 = int(round((top - PLATE_BOTTOM_M) * s)) - ph
    if night:
        rgb *= 0.30
        plate *= 0.88
    rgb[py0 : py0 + ph, px0 : px0 + pw] = plate
    img[py0 : py0 + ph, px0 : px0 + pw, 3] = 255
    if night:
        for lx, ly in lights:
            r = 0.10 * s
            cv2.ellipse(
                rgb, (int(lx), int(ly)), (int(r * 1.4), int(r)), 0, 0, 360, (255, 252, 238), -1, cv2.LINE_AA
            )
    img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    quad = np.array([[px0, py0], [px0 + pw, py0], [px0 + pw, py0 + ph], [px0, py0 + ph]], np.float64)
    levels = [img]
    while min(levels[-1].shape[:2]) > 16:
        levels.append(cv2.pyrDown(levels[-1]))
    return VehicleSprite(levels=levels, scale=s, anchor=(W / 2, H), plate_quad=quad, lights=lights, top_m=top)


__all__ += ["PLATE_BOTTOM_M", "PLATE_W_M"]
