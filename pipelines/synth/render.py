"""Draw one camera's clip frame by frame and record the exact box of every plate and face drawn.

Objects are painted far to near over the static background: vehicles are their sprite warped by
a homography (scale from depth, a slight roll and keystone), motion-blurred along their screen
motion for the camera's shutter time; pedestrians are drawn at their depth with the real head
photo pasted on. Night adds headlight glare. Then sensor noise and the on-screen clock.

A box is recorded for a frame when the plate (face) is wholly inside the frame, at least
``MIN_PLATE_PX`` (``MIN_FACE_PX``) tall and less than 3 % covered by nearer objects.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lakehouse.ids import stable_id
from pipelines.synth.faces import FACE_M, HEAD_SCALE_PX, HeadSprite
from pipelines.synth.manifest import FacePass, PlatePass, VideoTruth
from pipelines.synth.plates import CAP_FRAC
from pipelines.synth.scene import paint_background
from pipelines.synth.traffic import Z_FAR_P, Z_FAR_V, Z_GONE_P, Z_GONE_V, CameraPlan, PedAgent, VehicleAgent
from pipelines.synth.vehicles import VehicleSprite, build_sprite

__all__ = ["RenderJob", "RenderResult", "render_camera"]

MIN_PLATE_PX = 6.0
MIN_FACE_PX = 12.0
OCCLUDED = 0.03


@dataclass
class RenderJob:
    plan: CameraPlan
    rel_path: str
    out_path: Path
    fps: float
    n_frames: int
    difficulty: dict
    heads: dict[str, HeadSprite]
    seed: int


@dataclass
class RenderResult:
    video: VideoTruth
    plate_passes: list[PlatePass]
    face_passes: list[FacePass]
    sightings: list[dict] = field(default_factory=list)


@dataclass
class _Drawn:
    z: float
    x0: int
    y0: int
    alpha: np.ndarray  # float32 0..1, ROI-sized
    key: tuple[str, str] | None = None  # ("plate", vehicle_id) / ("face", ped_id)
    box: tuple[float, float, float, float] | None = None
    size_px: float = 0.0


def _T(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)


def _apply(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.hstack([pts, np.ones((len(pts), 1))]) @ M.T
    return p[:, :2] / p[:, 2:3]


def _line_kernel(length: float, angle: float) -> np.ndarray | None:
    if length < 1.5:
        return None
    n = int(math.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = math.cos(angle), math.sin(angle)
    for i in range(n * 3):
        t = (i / (n * 3 - 1) - 0.5) * (length - 1)
        x, y = c + t * dx, c + t * dy
        k[int(round(y)), int(round(x))] += 1
    return k / k.sum()


_GLARE = None


def _glare_patch(r: int) -> np.ndarray:
    global _GLARE
    if _GLARE is None:
        yy, xx = np.mgrid[-32:33, -32:33].astype(np.float32) / 32.0
        _GLARE = np.exp(-(xx**2 + yy**2) * 4.0)
    return cv2.resize(_GLARE, (2 * r + 1, 2 * r + 1), interpolation=cv2.INTER_LINEAR)


def _composite(frame: np.ndarray, prem: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> None:
    """Blend premultiplied colour ``prem`` (float32 HxWx3) with coverage ``alpha`` (HxW) at (x0, y0)."""
    h, w = alpha.shape
    roi = frame[y0 : y0 + h, x0 : x0 + w]
    inv = cv2.merge([1.0 - alpha] * 3)
    out = cv2.add(cv2.multiply(roi, inv, dtype=cv2.CV_32F), prem)
    roi[:] = cv2.convertScaleAbs(out)  # saturating; values are never negative


class _VehicleDrawer:
    def __init__(self, job: RenderJob, night: bool):
        self.g = job.plan.geometry
        self.layout = job.plan.layout
        self.fps = job.fps
        self.shutter = job.difficulty["shutter_s"]
        self.night = night
        self.sprites: dict[str, VehicleSprite] = {}
        self.base_scale = max(420.0, 1.15 * self.g.s_max)

    def sprite(self, a: VehicleAgent) -> VehicleSprite:
        sp = self.sprites.get(a.spec.vehicle_id)
        if sp is None:
            sp = build_sprite(a.spec, self.base_scale, night=self.night)
            self.sprites[a.spec.vehicle_id] = sp
        return sp

    def forget(self, a: VehicleAgent) -> None:
        self.sprites.pop(a.spec.vehicle_id, None)

    def transform(self, a: VehicleAgent, sp: VehicleSprite, t: float, level: int) -> np.ndarray:
        """3x3 map from level-``level`` sprite pixel centres to frame pixel centres."""
        g = self.g
        z = a.z_at(t, g.z_min)
        s = g.f / z
        u0, v0 = g.project(self.layout.lane_x + a.lane_dx, 0.0, z)
        lv = 2.0**level
        k = s / (sp.scale / lv)
        ax, ay = sp.anchor[0] / lv, sp.anchor[1] / lv
        w_l = sp.levels[0].shape[1] / lv
        th = math.radians(a.roll_deg)
        R = np.array([[math.cos(th), -math.sin(th), 0], [math.sin(th), math.cos(th), 0], [0, 0, 1]])
        P = np.array([[1, 0, 0], [0, 1, 0], [a.keystone / w_l, 0, 1]])
        S = np.diag([k, k, 1.0])
        M_edge = _T(u0, v0) @ S @ R @ P @ _T(-ax, -ay)
        return _T(-0.5, -0.5) @ M_edge @ _T(0.5, 0.5)

    def plate_quad(self, a: VehicleAgent, sp: VehicleSprite, t: float) -> np.ndarray:
        """Plate corners in frame edge coordinates."""
        M = self.transform(a, sp, t, 0)
        return _apply(M, sp.plate_quad - 0.5) + 0.5

    def draw(self, frame: np.ndarray, a: VehicleAgent, t: float) -> _Drawn | None:
        g = self.g
        z = a.z_at(t, g.z_min)
        if not (Z_GONE_V <= z <= Z_FAR_V):
            return None
        sp = self.sprite(a)
        s = g.f / z
        level = int(np.clip(math.floor(math.log2(max(1e-6, sp.scale / s))), 0, len(sp.levels) - 1))
        src = sp.levels[level]
        M = self.transform(a, sp, t, level)
        h, w = src.shape[:2]
        corners = _apply(M, np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]]))
        # motion over the shutter time (screen motion of the plate centre)
        quad = self.plate_quad(a, sp, t)
        prev = self.plate_quad(a, sp, t - 1.0 / self.fps)
        vel = (quad.mean(0) - prev.mean(0)) * self.fps
        blur_len = float(np.hypot(*vel)) * self.shutter
        pad = int(math.ceil(blur_len / 2)) + 2
        x0 = int(max(0, math.floor(corners[:, 0].min()) - pad))
        y0 = int(max(0, math.floor(corners[:, 1].min()) - pad))
        x1 = int(min(g.width, math.ceil(corners[:, 0].max()) + pad + 1))
        y1 = int(min(g.height, math.ceil(corners[:, 1].max()) + pad + 1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        warped = cv2.warpPerspective(
            src,
            _T(-x0, -y0) @ M,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        alpha = warped[..., 3].astype(np.float32) * (1.0 / 255.0)
        prem = warped[..., :3].astype(np.float32) * alpha[..., None]
        kern = _line_kernel(blur_len, math.atan2(vel[1], vel[0]))
        if kern is not None:
            prem = cv2.filter2D(prem, -1, kern, borderType=cv2.BORDER_CONSTANT)
            alpha = cv2.filter2D(alpha, -1, kern, borderType=cv2.BORDER_CONSTANT)
        _composite(frame, prem, alpha, x0, y0)
        if self.night:
            self._glare(frame, sp, M, level, s)
        bx = (
            float(quad[:, 0].min()),
            float(quad[:, 1].min()),
            float(quad[:, 0].max()),
            float(quad[:, 1].max()),
        )
        char_px = CAP_FRAC * 0.5 * (np.hypot(*(quad[3] - quad[0])) + np.hypot(*(quad[2] - quad[1])))
        return _Drawn(z, x0, y0, alpha, ("plate", a.spec.vehicle_id), bx, float(char_px))

    def _glare(self, frame: np.ndarray, sp: VehicleSprite, M: np.ndarray, level: int, s: float) -> None:
        """Additive headlight glare around each headlight (night)."""
        H, W = frame.shape[:2]
        r = int(max(2, 0.30 * s))
        patch = _glare_patch(r)[..., None] * np.array([255, 245, 215], np.float32) * 0.55
        lv = 2.0**level
        for lx, ly in sp.lights:
            c = _apply(M, np.array([[lx / lv - 0.5, ly / lv - 0.5]]))[0]
            cx, cy = int(round(c[0])), int(round(c[1]))
            xa, ya, xb, yb = cx - r, cy - r, cx + r + 1, cy + r + 1
            ca, cb = max(0, xa), min(W, xb)
            ra, rb = max(0, ya), min(H, yb)
            if ca >= cb or ra >= rb:
                continue
            sub = patch[ra - ya : rb - ya, ca - xa : cb - xa]
            roi = frame[ra:rb, ca:cb].astype(np.float32) + sub
            frame[ra:rb, ca:cb] = np.clip(roi, 0, 255).astype(np.uint8)


class _PedDrawer:
    def __init__(self, job: RenderJob, night: bool):
        self.g = job.plan.geometry
        self.heads = job.heads
        self.night = night
        self.levels: dict[str, list[np.ndarray]] = {}
        for ident, h in self.heads.items():
            lv = [h.rgba]
            while min(lv[-1].shape[:2]) > 12:
                lv.append(cv2.pyrDown(lv[-1]))
            self.levels[ident] = lv

    def draw(self, frame: np.ndarray, p: PedAgent, t: float) -> _Drawn | None:
        g = self.g
        z = p.z_at(t)
        if not (Z_GONE_P <= z <= Z_FAR_P):
            return None
        s = g.f / z
        u0, v0 = g.project(p.x, 0.0, z)
        Hm = p.height_m
        phase = p.phase0 + 2 * math.pi * p.speed * t / 1.4
        bob = 0.018 * abs(math.sin(phase))
        sway = 0.025 * math.sin(phase / 2)
        x0 = int(max(0, math.floor(u0 - 0.42 * s)))
        x1 = int(min(g.width, math.ceil(u0 + 0.42 * s)))
        y0 = int(max(0, math.floor(v0 - (Hm + 0.2) * s)))
        y1 = int(min(g.height, math.ceil(v0 + 0.05 * s)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        canvas = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
        ox, oy = u0 - x0, v0 - y0

        def P(pts: list[tuple[float, float]]) -> np.ndarray:
            return np.array([[ox + (x + sway) * s, oy - (y + bob) * s] for x, y in pts])

        def fill(pts: list[tuple[float, float]], col: tuple[float, ...]) -> None:
            arr = np.clip(P(pts), -1e5, 1e5)
            cv2.fillPoly(
                canvas,
                [np.round(arr * 8).astype(np.int32)],
                (*[float(c) for c in col], 1.0),
                lineType=cv2.LINE_AA,
                shift=3,
            )

        dim = 0.24 if self.night else 1.0
        shirt = tuple(c * dim for c in p.shirt)
        pants = tuple(c * dim for c in p.pants)
        skin = tuple(c * dim for c in (190, 150, 120))
        hip = Hm * 0.53
        sh = Hm - 0.29
        lift_l = 0.07 * max(0.0, math.sin(phase))
        lift_r = 0.07 * max(0.0, -math.sin(phase))
        for sx, lift in ((-1, lift_l), (1, lift_r)):
            fill(
                [(sx * 0.02, hip), (sx * 0.17, hip), (sx * 0.15, lift + 0.06), (sx * 0.04, lift + 0.06)],
                pants,
            )
            fill(
                [(sx * 0.03, lift), (sx * 0.16, lift), (sx * 0.16, lift + 0.07), (sx * 0.03, lift + 0.07)],
                tuple(c * dim for c in (30, 30, 32)),
            )
        arm = 0.05 * math.sin(phase)
        for sx, da in ((-1, arm), (1, -arm)):
            fill(
                [
                    (sx * 0.19, sh - 0.02),
                    (sx * 0.26, sh - 0.05),
                    (sx * 0.25, sh - 0.62 + da),
                    (sx * 0.19, sh - 0.60 + da),
                ],
                shirt,
            )
            fill(
                [
                    (sx * 0.195, sh - 0.60 + da),
                    (sx * 0.25, sh - 0.61 + da),
                    (sx * 0.245, sh - 0.70 + da),
                    (sx * 0.2, sh - 0.69 + da),
                ],
                skin,
            )
        fill(
            [
                (-0.13, sh + 0.03),
                (0.13, sh + 0.03),
                (0.20, sh + 0.005),
                (0.225, sh - 0.04),
                (0.2, sh - 0.25),
                (0.19, hip - 0.04),
                (-0.19, hip - 0.04),
                (-0.2, sh - 0.25),
                (-0.225, sh - 0.04),
                (-0.20, sh + 0.005),
            ],
            shirt,
        )
        fill([(-0.05, sh + 0.005), (0.05, sh + 0.005), (0.045, Hm - 0.20), (-0.045, Hm - 0.20)], skin)
        face_box = None
        if p.toward and p.identity in self.heads:
            face_box = self._head(canvas, p, s, ox, oy, sway, bob)
        else:
            cx, cy = P([(0.0, Hm - 0.12)])[0]
            hair = tuple(c * dim for c in p.hair)
            cv2.ellipse(
                canvas,
                (int(cx), int(cy)),
                (max(1, int(0.085 * s)), max(1, int(0.12 * s))),
                0,
                0,
                360,
                (*hair, 1.0),
                -1,
                cv2.LINE_AA,
            )
        alpha = canvas[..., 3]
        _composite(frame, canvas[..., :3] * alpha[..., None], alpha, x0, y0)
        if face_box is None:
            return _Drawn(z, x0, y0, alpha)
        fb = (face_box[0] + x0, face_box[1] + y0, face_box[2] + x0, face_box[3] + y0)
        return _Drawn(z, x0, y0, alpha, ("face", p.ped_id), fb, fb[3] - fb[1])

    def _head(
        self, canvas: np.ndarray, p: PedAgent, s: float, ox: float, oy: float, sway: float, bob: float
    ) -> tuple[float, float, float, float]:
        if p.identity is None:
            raise ValueError(f"pedestrian {p.ped_id} has no identity, so no head sprite")
        head = self.heads[p.identity]
        face_px = FACE_M * s
        level = int(
            np.clip(
                math.floor(math.log2(max(1e-6, HEAD_SCALE_PX / face_px))), 0, len(self.levels[p.identity]) - 1
            )
        )
        src = self.levels[p.identity][level]
        lv = 2.0**level
        fx1, fy1, fx2, fy2 = (c / lv for c in head.face_box)
        k = face_px / (fy2 - fy1)
        # face box centre -> its place on the body (canvas edge coordinates)
        fc_s = ((fx1 + fx2) / 2, (fy1 + fy2) / 2)
        y_fc = p.height_m - 0.055 - FACE_M / 2 + bob
        fc_f = (ox + sway * s, oy - y_fc * s)
        M = np.array([[k, 0, fc_f[0] - k * fc_s[0]], [0, k, fc_f[1] - k * fc_s[1]]], np.float64)
        h, w = canvas.shape[:2]
        sh, sw = src.shape[:2]
        # only the head's own rectangle of the canvas is touched
        hx0 = int(max(0, math.floor(M[0, 2])))
        hy0 = int(max(0, math.floor(M[1, 2])))
        hx1 = int(min(w, math.ceil(M[0, 2] + k * sw) + 1))
        hy1 = int(min(h, math.ceil(M[1, 2] + k * sh) + 1))
        if hx1 > hx0 and hy1 > hy0:
            Mc = M.copy()
            Mc[:, 2] += k * 0.5 - 0.5  # pixel centres
            Mc[0, 2] -= hx0
            Mc[1, 2] -= hy0
            warped = cv2.warpAffine(
                src,
                Mc,
                (hx1 - hx0, hy1 - hy0),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(0, 0, 0, 0),
            ).astype(np.float32)
            a = warped[..., 3:4] * (1.0 / 255.0)
            rgb = warped[..., :3] * (0.5 if self.night else 1.0)
            sub = canvas[hy0:hy1, hx0:hx1]
            sub[..., :3] = sub[..., :3] * (1 - a) + rgb * a
            sub[..., 3:4] = sub[..., 3:4] * (1 - a) + a
        x1, y1 = M @ np.array([fx1, fy1, 1.0])
        x2, y2 = M @ np.array([fx2, fy2, 1.0])
        return (float(x1), float(y1), float(x2), float(y2))


def _visible(d: _Drawn, nearer: list[_Drawn], W: int, H: int, min_px: float) -> bool:
    assert d.box is not None
    x1, y1, x2, y2 = d.box
    if x1 < 0 or y1 < 0 or x2 > W or y2 > H or (y2 - y1) < min_px:
        return False
    area = max(1.0, (x2 - x1) * (y2 - y1))
    covered = 0.0
    for o in nearer:
        oh, ow = o.alpha.shape
        ix0, iy0 = max(int(x1), o.x0), max(int(y1), o.y0)
        ix1, iy1 = min(int(math.ceil(x2)), o.x0 + ow), min(int(math.ceil(y2)), o.y0 + oh)
        if ix0 >= ix1 or iy0 >= iy1:
            continue
        covered += float(o.alpha[iy0 - o.y0 : iy1 - o.y0, ix0 - o.x0 : ix1 - o.x0].sum())
        if covered / area > OCCLUDED:
            return False
    return True


def render_camera(job: RenderJob, on_frame: Callable[[int], None] | None = None) -> RenderResult:
    """Render and encode one camera's clip; return its truth."""
    from pipelines.synth.video import H264Writer

    plan = job.plan
    g = plan.geometry
    W, H = g.width, g.height
    night = plan.lighting == "night"
    rng = np.random.default_rng([job.seed, 202, plan.index])
    bg, _lamps = paint_background(g, plan.layout, rng, night)
    vdraw = _VehicleDrawer(job, night)
    pdraw = _PedDrawer(job, night)
    sigma = job.difficulty["noise"] * (1.5 if night else 1.0)
    noise_bank = []
    for _ in range(3):
        n = rng.normal(0, sigma, (H + 16, W + 16)).astype(np.float32)
        n3 = cv2.merge([n, n, n])
        noise_bank.append((np.clip(n3, 0, 255).astype(np.uint8), np.clip(-n3, 0, 255).astype(np.uint8)))
    cam_id = plan.row["camera_id"]
    osd = _Osd(cam_id)
    boxes: dict[tuple[str, str], list[tuple[int, float, float, float, float]]] = {}
    sizes: dict[tuple[str, str], list[float]] = {}
    z_min = g.z_min
    v_int = [
        (a, a.t_pass - (Z_FAR_V - z_min) / a.speed, a.t_pass + (z_min - Z_GONE_V) / a.speed)
        for a in plan.vehicles
    ]
    fps = job.fps
    with H264Writer(
        job.out_path,
        W,
        H,
        fps,
        crf=job.difficulty["crf"],
        preset=job.difficulty["preset"],
        start_ts=plan.start_ts,
        title=cam_id,
    ) as wr:
        for i in range(job.n_frames):
            t = i / fps
            frame = bg.copy()
            objs: list[tuple[float, VehicleAgent | PedAgent]] = []
            for a, t0, t1 in v_int:
                if t0 - 0.1 <= t <= t1 + 0.1:
                    objs.append((a.z_at(t, z_min), a))
                elif t > t1 + 0.1:
                    vdraw.forget(a)
            for p in plan.peds:
                z = p.z_at(t)
                if Z_GONE_P <= z <= Z_FAR_P:
                    objs.append((z, p))
            objs.sort(key=lambda o: -o[0])
            drawn: list[_Drawn] = []
            for _, o in objs:
                d = vdraw.draw(frame, o, t) if isinstance(o, VehicleAgent) else pdraw.draw(frame, o, t)
                if d is not None:
                    drawn.append(d)
            for j, d in enumerate(drawn):
                if d.key is None or d.box is None:
                    continue
                min_px = MIN_PLATE_PX if d.key[0] == "plate" else MIN_FACE_PX
                if _visible(d, drawn[j + 1 :], W, H, min_px):
                    x1, y1, x2, y2 = (round(c, 2) for c in d.box)
                    boxes.setdefault(d.key, []).append((i, x1, y1, x2, y2))
                    sizes.setdefault(d.key, []).append(d.size_px)
            pos, neg = noise_bank[i % 3]
            oy, ox = int(rng.integers(0, 16)), int(rng.integers(0, 16))
            cv2.add(frame, pos[oy : oy + H, ox : ox + W], dst=frame)
            cv2.subtract(frame, neg[oy : oy + H, ox : ox + W], dst=frame)
            osd.draw(frame, plan.start_ts + dt.timedelta(hours=plan.utc_offset_h, seconds=t))
            wr.write(frame)
            if on_frame is not None:
                on_frame(1)
    duration = job.n_frames / fps
    video = VideoTruth(
        path=job.rel_path,
        camera_id=cam_id,
        start_ts=plan.start_ts,
        fps=float(fps),
        width=W,
        height=H,
        duration_s=round(duration, 6),
        lighting=plan.lighting,
        frames=job.n_frames,
        scene=plan.scene,
    )
    plates, faces, sightings = [], [], []
    for a in plan.vehicles:
        key = ("plate", a.spec.vehicle_id)
        bl = boxes.get(key)
        if not bl:
            continue
        best = max(range(len(bl)), key=[(b[3] - b[1]) * (b[4] - b[2]) for b in bl].__getitem__)
        pid = stable_id(cam_id, a.spec.vehicle_id, round(a.t_pass, 3))
        complete = 0.0 <= a.t_pass < duration
        plates.append(
            PlatePass(
                pass_id=pid,
                camera_id=cam_id,
                video=job.rel_path,
                plate=a.spec.plate,
                plate_format=a.spec.plate_format,
                t_start_s=round(bl[0][0] / fps, 4),
                t_end_s=round(bl[-1][0] / fps, 4),
                lighting=plan.lighting,
                boxes=bl,
                vehicle_id=a.spec.vehicle_id,
                char_px=round(sizes[key][best], 2),
                complete=complete,
            )
        )
        sightings.append(
            {
                "vehicle_id": a.spec.vehicle_id,
                "camera_id": cam_id,
                "pass_id": pid,
                "ts": (plan.start_ts + dt.timedelta(seconds=round(a.t_pass, 3))).isoformat(),
                "complete": complete,
                "routed": a.routed,
            }
        )
    for p in plan.peds:
        key = ("face", p.ped_id)
        bl = boxes.get(key)
        if not bl or p.identity is None:
            continue
        best = max(range(len(bl)), key=[(b[3] - b[1]) * (b[4] - b[2]) for b in bl].__getitem__)
        faces.append(
            FacePass(
                pass_id=stable_id(cam_id, p.ped_id),
                camera_id=cam_id,
                video=job.rel_path,
                identity=p.identity,
                t_start_s=round(bl[0][0] / fps, 4),
                t_end_s=round(bl[-1][0] / fps, 4),
                lighting=plan.lighting,
                boxes=bl,
                source_photo=job.heads[p.identity].photo,
                face_px=round(sizes[key][best], 2),
                complete=0.0 <= p.t_ref < duration,
            )
        )
    return RenderResult(video, plates, faces, sightings)


class _Osd:
    """On-screen camera name and local clock (top left), re-rendered once per second."""

    def __init__(self, cam_id: str):
        self.cam_id = cam_id
        self._key: str | None = None
        self._patch: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def draw(self, frame: np.ndarray, ts: dt.datetime) -> None:
        text = f"{self.cam_id}  {ts.strftime('%Y-%m-%d %H:%M:%S')}"
        if text != self._key:
            patch = np.zeros((44, min(frame.shape[1], 560), 3), np.uint8)
            mask = np.zeros(patch.shape[:2], np.uint8)
            for img, col in ((patch, (0, 0, 0)), (mask, 255)):
                cv2.putText(img, text, (14, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, col, 4, cv2.LINE_AA)
            cv2.putText(patch, text, (14, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (235, 235, 235), 1, cv2.LINE_AA)
            self._key, self._patch, self._mask = text, patch, mask
        assert self._patch is not None and self._mask is not None
        h, w = self._mask.shape
        cv2.copyTo(self._patch, self._mask, frame[:h, :w])
