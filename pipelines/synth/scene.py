"""Camera geometry and the static street picture behind the traffic.

Each camera is a pinhole looking along its road (image plane vertical, optical centre shifted so
the horizon sits at ``horizon_v``; objects facing the camera stay upright and undistorted). A point
``X`` metres right of the camera, ``Y`` metres up and ``Z`` metres ahead projects to
``u = cx + f X / Z``, ``v = horizon_v + f (cam_h - Y) / Z``; ``f / Z`` is the local scale in px/m.

Two scene kinds:

- ``street``: one lane of approaching traffic left of the camera, an opposite lane, a sidewalk with
  pedestrians on the right, building facades, lamp posts and trees on both sides;
- ``portico``: a ring-entry reader: one lane under a gantry, shoulders, a median and guard rails.

The camera height is chosen from the requested plate character height at the closest point where
the plate is still whole on screen: ``f/Z_min * cap = target`` and the plate's lower edge touches the
bottom row there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipelines.synth.plates import CAP_FRAC, PLATE_H_M, PLATE_W_M
from pipelines.synth.vehicles import PLATE_BOTTOM_M

__all__ = ["Geometry", "Layout", "make_geometry", "paint_background"]

LANE_W = 3.2


@dataclass
class Geometry:
    width: int
    height: int
    f: float
    cx: float
    horizon_v: float
    cam_h: float
    s_max: float  # px/m where the plate's lower edge touches the bottom row

    def project(self, X: float, Y: float, Z: float) -> tuple[float, float]:
        return self.cx + self.f * X / Z, self.horizon_v + self.f * (self.cam_h - Y) / Z

    def scale(self, Z: float) -> float:
        return self.f / Z

    @property
    def z_min(self) -> float:
        """Distance of a vehicle's front when its plate's lower edge touches the bottom row."""
        return self.f / self.s_max


@dataclass
class Layout:
    kind: str  # street | portico
    lane_x: float  # centre of the approaching lane, metres right of the camera (negative = left)
    lane_w: float
    walk_x: tuple[float, float] = (0.0, 0.0)  # sidewalk band where pedestrians walk (camera-relative X)
    sidewalk: tuple[float, float] = (0.0, 0.0)
    extra: dict = field(default_factory=dict)


def make_geometry(kind: str, width: int, height: int, char_px: float) -> tuple[Geometry, Layout]:
    """Geometry and layout for a camera of ``kind`` whose plates reach ``char_px`` character height."""
    cap_m = CAP_FRAC * PLATE_H_M
    s_max = char_px / cap_m
    if kind == "portico":
        horizon_v = 0.06 * height
        f = 1.25 * width
        # the plate (lane centre +- jitter) must fit across the frame at s_max
        s_fit = 0.95 * (width / 2) / (PLATE_W_M / 2 + 0.22)
        s_max = min(s_max, s_fit)
        lane_x = 0.0
        layout = Layout("portico", lane_x=lane_x, lane_w=3.5)
    else:
        horizon_v = 0.12 * height
        f = 1.1 * width
        # put the lane as far left as the plate still fits at the closest point
        lane_x = -(0.95 * (width / 2) / s_max - PLATE_W_M / 2 - 0.18)
        if lane_x > -0.9:  # too zoomed for a lane next to the sidewalk: cap the zoom instead
            lane_x = -0.9
            s_max = 0.95 * (width / 2) / (0.9 + PLATE_W_M / 2 + 0.18)
        curb = lane_x + LANE_W / 2
        layout = Layout(
            "street",
            lane_x=lane_x,
            lane_w=LANE_W,
            walk_x=(curb + 0.35, curb + 1.45),
            sidewalk=(curb, curb + 3.4),
        )
    cam_h = PLATE_BOTTOM_M + (height - horizon_v) / s_max
    return Geometry(width, height, f, width / 2.0, horizon_v, cam_h, s_max), layout


# --------------------------------------------------------------------------- painting


def _quad_ground(g: Geometry, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    pts = [g.project(x0, 0, z0), g.project(x1, 0, z0), g.project(x1, 0, z1), g.project(x0, 0, z1)]
    return np.array(pts)


def _quad_wall(g: Geometry, x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    pts = [g.project(x, y0, z0), g.project(x, y0, z1), g.project(x, y1, z1), g.project(x, y1, z0)]
    return np.array(pts)


def _quad_front(g: Geometry, x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    pts = [g.project(x0, y0, z), g.project(x1, y0, z), g.project(x1, y1, z), g.project(x0, y1, z)]
    return np.array(pts)


def _fill(img: np.ndarray, pts: np.ndarray, color) -> None:
    pts = np.clip(pts, -1e5, 1e5)
    cv2.fillPoly(
        img,
        [np.round(pts * 8).astype(np.int32)],
        tuple(float(c) for c in color),
        lineType=cv2.LINE_AA,
        shift=3,
    )


Z_NEAR, Z_FAR = 0.25, 400.0


def paint_background(
    g: Geometry, layout: Layout, rng: np.random.Generator, night: bool
) -> tuple[np.ndarray, list]:
    """The empty scene (RGB uint8) and the screen positions of lamp heads (for night glow)."""
    H, W = g.height, g.width
    img = np.zeros((H, W, 3), np.float32)
    # sky
    hv = int(np.clip(g.horizon_v, 0, H))
    if hv > 0:
        top = np.array([120, 165, 215], np.float32)
        bot = np.array([205, 220, 232], np.float32)
        t = np.linspace(0, 1, hv, dtype=np.float32)[:, None, None]
        img[:hv] = top * (1 - t) + bot * t
    # ground base
    img[hv:] = (112, 110, 104)
    lamps: list[tuple[float, float, float]] = []
    asphalt = np.array([78, 80, 84]) + rng.uniform(-6, 6)
    if layout.kind == "street":
        lx, lw = layout.lane_x, layout.lane_w
        left_edge = lx - lw / 2 - LANE_W  # opposite lane
        right_curb = lx + lw / 2
        side1 = layout.sidewalk[1]
        far_side = left_edge - 3.0
        _fill(img, _quad_ground(g, far_side - 30, side1 + 30, Z_NEAR, Z_FAR), (140, 136, 128))  # sidewalks
        _fill(img, _quad_ground(g, left_edge, right_curb, Z_NEAR, Z_FAR), asphalt)
        # sidewalk tiles
        for z in np.arange(0.6, 60, 0.6):
            _fill(img, _quad_ground(g, right_curb + 0.2, side1, z, z + 0.025), (124, 121, 114))
        for xk in np.arange(right_curb + 0.8, side1, 0.6):
            _fill(img, _quad_ground(g, xk, xk + 0.02, Z_NEAR, 60), (124, 121, 114))
        # curbs
        _fill(img, _quad_ground(g, right_curb, right_curb + 0.2, Z_NEAR, Z_FAR), (176, 172, 164))
        _fill(img, _quad_ground(g, left_edge - 0.2, left_edge, Z_NEAR, Z_FAR), (176, 172, 164))
        # markings: edge line and dashed centre line
        _fill(img, _quad_ground(g, right_curb - 0.25, right_curb - 0.13, Z_NEAR, Z_FAR), (222, 222, 214))
        cl = lx - lw / 2
        for z in np.arange(1.0, 200, 9.0):
            _fill(img, _quad_ground(g, cl - 0.06, cl + 0.06, z, z + 3.0), (230, 225, 200))
        # a zebra crossing far away
        zc = float(rng.uniform(38, 55))
        for xk in np.arange(left_edge + 0.2, right_curb - 0.3, 0.9):
            _fill(img, _quad_ground(g, xk, xk + 0.5, zc, zc + 3.5), (225, 225, 218))
        # facades (right: close, left: across the street)
        _facades(img, g, side1, +1, rng, night)
        _facades(img, g, far_side, -1, rng, night)
        # lamp posts and trees on the right sidewalk
        for z in np.arange(float(rng.uniform(8, 14)), 120, float(rng.uniform(22, 30))):
            x = right_curb + 0.45
            _fill(img, _quad_front(g, x - 0.07, x + 0.07, 0, 5.5, z), (70, 72, 76))
            _fill(img, _quad_front(g, x - 0.07, x - 1.3, 5.4, 5.55, z), (70, 72, 76))
            lamps.append((x - 1.2, 5.35, z))
            zt = z + 9
            _fill(img, _quad_front(g, x - 0.12, x + 0.12, 0, 2.6, zt), (82, 62, 45))
            cu, cv_ = g.project(x, 3.6, zt)
            r = 1.5 * g.scale(zt)
            col = (60 + rng.uniform(-10, 10), 100 + rng.uniform(-15, 15), 55)
            cv2.ellipse(img, (int(cu), int(cv_)), (int(r), int(r * 0.85)), 0, 0, 360, col, -1, cv2.LINE_AA)
    else:
        lx, lw = layout.lane_x, layout.lane_w
        l0, l1 = lx - lw / 2, lx + lw / 2
        _fill(img, _quad_ground(g, -60, 60, Z_NEAR, Z_FAR), (118, 122, 96))  # verge
        _fill(img, _quad_ground(g, l0 - 2 * LANE_W - 1.2, l1 + 2.5, Z_NEAR, Z_FAR), asphalt)
        _fill(img, _quad_ground(g, l0 - 1.2, l0, Z_NEAR, Z_FAR), (150, 150, 146))  # median
        for x in (l0 - 1.2, l0 - 0.05):
            _fill(img, _quad_wall(g, x, Z_NEAR, Z_FAR, 0, 0.8), (168, 170, 172))
        _fill(img, _quad_ground(g, l1 + 0.1, l1 + 0.25, Z_NEAR, Z_FAR), (225, 222, 210))
        _fill(img, _quad_ground(g, l0 + 0.15, l0 + 0.3, Z_NEAR, Z_FAR), (225, 222, 210))
        for z in np.arange(2.0, 200, 10.0):  # stop / speed marks
            _fill(img, _quad_ground(g, lx - 0.9, lx + 0.9, z, z + 0.35), (205, 205, 196))
        _fill(img, _quad_wall(g, l1 + 2.5, Z_NEAR, Z_FAR, 0, 0.75), (160, 162, 165))  # guard rail
        # gantry (posts + beam) ahead
        zg = 26.0
        _fill(img, _quad_front(g, l0 - 1.0, l0 - 0.6, 0, 6.2, zg), (150, 152, 156))
        _fill(img, _quad_front(g, l1 + 1.6, l1 + 2.0, 0, 6.2, zg), (150, 152, 156))
        _fill(img, _quad_front(g, l0 - 1.0, l1 + 2.0, 5.6, 6.3, zg), (140, 142, 146))
        _fill(img, _quad_front(g, lx - 1.2, lx + 1.2, 4.6, 5.6, zg), (30, 90, 60))
        lamps.append((lx, 5.5, zg))
        for z in (60.0, 110.0):
            _fill(img, _quad_front(g, l1 + 2.8, l1 + 2.95, 0, 9.0, z), (90, 92, 96))
            lamps.append((l1 + 2.0, 8.8, z))
    # texture: fine grain + low-frequency patches
    grain = rng.normal(0, 3.0, (H, W, 1)).astype(np.float32)
    low = cv2.resize(rng.normal(0, 5.0, (H // 40 + 2, W // 40 + 2)).astype(np.float32), (W, H))[..., None]
    img += grain + low
    # vignetting
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    img *= (1.0 - 0.10 * r2)[..., None]
    if night:
        img = img * 0.20 + np.array([2, 4, 12], np.float32)
        glow = np.zeros((H, W), np.float32)
        for x, y, z in lamps:
            u, v = g.project(x, y, z)
            r = max(2.0, 0.35 * g.scale(z))
            cv2.circle(glow, (int(u), int(v)), int(3 * r), 0.25, -1, cv2.LINE_AA)
            cv2.circle(glow, (int(u), int(v)), int(r), 1.2, -1, cv2.LINE_AA)
            # pool of light on the ground below (a 2.5 m disc seen in perspective)
            gu, gv = g.project(x, 0, z)
            vy = (g.project(x, 0, max(0.5, z - 2.5))[1] - g.project(x, 0, z + 2.5)[1]) / 2
            cv2.ellipse(
                glow,
                (int(gu), int(gv)),
                (int(2.5 * g.scale(z)), int(max(2, vy))),
                0,
                0,
                360,
                0.22,
                -1,
                cv2.LINE_AA,
            )
        glow = cv2.GaussianBlur(glow, (0, 0), 6)
        img += glow[..., None] * np.array([150, 130, 90], np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), lamps


def _facades(
    img: np.ndarray, g: Geometry, x: float, side: int, rng: np.random.Generator, night: bool
) -> None:
    """Buildings along the street, a vertical plane at ``x``; windows on a grid."""
    palette = [
        (186, 170, 150),
        (200, 190, 168),
        (160, 150, 140),
        (175, 120, 95),
        (210, 205, 195),
        (140, 150, 160),
        (220, 200, 160),
        (120, 130, 120),
    ]
    z = 0.3
    walls = []
    while z < 220:
        length = float(rng.uniform(7, 18))
        height = float(rng.uniform(6, 24))
        col = palette[int(rng.integers(len(palette)))]
        walls.append((z, z + length, height, col))
        z += length
    for z0, z1, h, col in reversed(walls):  # far to near
        _fill(img, _quad_wall(g, x, z0, z1, 0, h), col)
        # ground floor shop band
        _fill(img, _quad_wall(g, x, z0 + 0.4, z1 - 0.4, 0.3, 2.8), tuple(c * 0.55 for c in col))
        for fy in np.arange(3.4, h - 1.0, 3.0):
            for fz in np.arange(z0 + 1.0, z1 - 1.2, 2.4):
                lit = night and rng.random() < 0.35
                wc: tuple[float, ...] = (250, 215, 140) if lit else (70, 85, 100)
                if lit:
                    wc = tuple(c / 0.2 * 0.9 for c in wc)  # stays bright after the night dimming
                    wc = tuple(min(c, 255 / 0.2) for c in wc)
                _fill(img, _quad_wall(g, x, fz, fz + 1.2, fy, fy + 1.5), wc)
