"""Real faces for the synthetic pedestrians, with an enrolment / in-video split per identity.

Source: the labelled photos in ``../shared/data/faces/face_recognition_examples`` (via
:mod:`pipelines.shared_data`). Installed packages ship no face photos here, so without the shared
data the city has no face passes (pedestrians then walk away from the camera) and the manifest says
so in ``notes``.

Per identity, one photo with exactly one detected face (MTCNN from facenet-pytorch; OpenCV's Haar
cascade when facenet-pytorch is missing) is pasted into the videos; the identity's OTHER photos
(minus resized copies of the pasted one) are listed as enrolment photos. An identity with a single
photo uses it for both, which is recorded in the manifest notes. Group photos are never used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lakehouse.ids import stable_id
from pipelines.shared_data import shared_path

__all__ = ["FACE_M", "FaceBank", "HeadSprite", "load_face_bank"]

log = logging.getLogger(__name__)

FACE_M = 0.19  # height of a detector's face box on a person, metres
CACHE_VERSION = 1  # bump when the head cut or the detector settings change
HEAD_SCALE_PX = 190  # face box height of the stored head sprite, pixels
_DATASET = ("faces", "face_recognition_examples")


@dataclass
class HeadSprite:
    identity: str
    photo: str  # absolute path of the source photo
    rgba: np.ndarray  # head crop with a soft elliptical alpha, face box HEAD_SCALE_PX tall
    face_box: tuple[float, float, float, float]  # face box in sprite pixels (edge coordinates)


@dataclass
class FaceBank:
    heads: dict[str, HeadSprite]
    enrolment: dict[str, list[str]]
    notes: list[str]
    detector: str

    @property
    def identities(self) -> list[str]:
        return sorted(self.heads)


def _read_rgb(path: Path) -> np.ndarray | None:
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            im: Image.Image = ImageOps.exif_transpose(opened)
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            return np.asarray(im.convert("RGB"))
    except Exception as exc:  # unreadable photo: skip it
        log.warning("cannot read %s: %s", path, exc)
        return None


class _Detector:
    """Face boxes in a photo (x1, y1, x2, y2, score), largest first."""

    def __init__(self) -> None:
        self.name = "mtcnn"
        try:
            try:
                from pipelines.faces.models import load_mtcnn

                self._mtcnn = load_mtcnn("cpu", 40, (0.6, 0.7, 0.8))
            except ImportError:
                import torch
                from facenet_pytorch import MTCNN

                self._mtcnn = MTCNN(min_face_size=40, keep_all=True, device=torch.device("cpu")).eval()
        except Exception as exc:  # facenet-pytorch missing: OpenCV's Haar cascade
            log.info("MTCNN unavailable (%s); using OpenCV Haar cascade", exc)
            self.name = "haar"
            cascades = cv2.data.haarcascades  # type: ignore[attr-defined]  # cv2.data is missing from the cv2 stubs
            self._haar = cv2.CascadeClassifier(cascades + "haarcascade_frontalface_default.xml")

    def __call__(self, rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        h, w = rgb.shape[:2]
        k = min(1.0, 900.0 / max(h, w))
        small = cv2.resize(rgb, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else rgb
        if self.name == "mtcnn":
            import torch

            with torch.no_grad():
                boxes, probs = self._mtcnn.detect(small)
            if boxes is None:
                return []
            out = [
                (*(b / k), float(p)) for b, p in zip(boxes, probs, strict=True) if p is not None and p >= 0.92
            ]
        else:
            gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            rects = self._haar.detectMultiScale(gray, 1.1, 5, minSize=(40, 40))
            out = [(x / k, y / k, (x + ww) / k, (y + hh) / k, 1.0) for x, y, ww, hh in rects]
        return sorted(out, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def _thumb(rgb: np.ndarray) -> np.ndarray:
    t = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (24, 24), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    t -= t.mean()
    return t / (np.linalg.norm(t) + 1e-6)


def _video_photo_order(rel: str) -> tuple[int, str]:
    """Photos best suited to be pasted into videos first: held-out test photos, then the rest;
    partial faces and thumbnails last."""
    low = rel.lower()
    rank = 1
    if "/test/" in low:
        rank = 0
    if "partial" in low or "small" in low or "240p" in low:
        rank = 3
    return (rank, rel)


def _head_sprite(identity: str, photo: Path, rgb: np.ndarray, box: tuple[float, ...]) -> HeadSprite:
    x1, y1, x2, y2 = box[:4]
    fw, fh = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    # head region: hair above, some neck below
    hx1, hx2 = cx - 0.95 * fw, cx + 0.95 * fw
    hy1, hy2 = y1 - 0.62 * fh, y2 + 0.30 * fh
    k = HEAD_SCALE_PX / fh
    out_w, out_h = int(round((hx2 - hx1) * k)), int(round((hy2 - hy1) * k))
    M = np.array([[k, 0, -hx1 * k + 0.5 * k - 0.5], [0, k, -hy1 * k + 0.5 * k - 0.5]], np.float64)
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    if k < 1:  # pre-shrink for a clean downscale
        small = cv2.resize(
            rgb, (max(1, int(rgb.shape[1] * k)), max(1, int(rgb.shape[0] * k))), interpolation=interp
        )
        sx, sy = small.shape[1] / rgb.shape[1], small.shape[0] / rgb.shape[0]
        M2 = np.array(
            [[k / sx, 0, -hx1 * k + 0.5 * k / sx - 0.5], [0, k / sy, -hy1 * k + 0.5 * k / sy - 0.5]]
        )
        crop = cv2.warpAffine(
            small, M2, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    else:
        crop = cv2.warpAffine(rgb, M, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # soft ellipse around face + hair
    fx1, fy1 = (x1 - hx1) * k, (y1 - hy1) * k
    fx2, fy2 = (x2 - hx1) * k, (y2 - hy1) * k
    alpha = np.zeros((out_h, out_w), np.float32)
    ecx, ecy = (fx1 + fx2) / 2, (fy1 + fy2) / 2 - 0.16 * (fy2 - fy1)
    axes = (int(0.66 * (fx2 - fx1)), int(0.80 * (fy2 - fy1)))
    cv2.ellipse(alpha, (int(ecx), int(ecy)), axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    # neck
    cv2.rectangle(
        alpha,
        (int(ecx - 0.3 * (fx2 - fx1)), int(fy2 - 0.2 * (fy2 - fy1))),
        (int(ecx + 0.3 * (fx2 - fx1)), out_h),
        1.0,
        -1,
    )
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.05 * (fx2 - fx1))
    rgba = np.dstack([crop, np.clip(alpha * 255, 0, 255).astype(np.uint8)])
    return HeadSprite(identity, str(photo), rgba, (fx1, fy1, fx2, fy2))


def _cache_file(root: Path, labels_text: str) -> Path:
    """Where the detected head sprites of this photo set are cached (keyed by the labels and the
    photos' sizes; delete it freely)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    key = stable_id(
        CACHE_VERSION, str(root), labels_text, *[f"{p.relative_to(root)}:{p.stat().st_size}" for p in files]
    )
    from lakehouse.settings import get_settings

    base = Path(get_settings().paths.cache_dir or Path.home() / ".cache" / "pesquisa")
    return base / f"synth_faces_{key}.npz"


def load_face_bank(root: Path | None = None, *, cache: bool = True) -> FaceBank:
    """Head sprites and enrolment photos of every labelled identity (empty without shared data).

    Detection runs once per photo set; the result is cached under ``$PESQUISA_CACHE`` (default
    ``~/.cache/pesquisa``) so later cities start in a second."""
    root = root if root is not None else shared_path(*_DATASET)
    if root is None or not (root / "identity_labels.json").is_file():
        msg = (
            "no face photos: ../shared/data/faces is absent and no installed package ships face photos; "
            "the city has no face passes"
        )
        log.warning(msg)
        return FaceBank({}, {}, [msg], "none")
    labels_text = (root / "identity_labels.json").read_text()
    cfile = _cache_file(root, labels_text) if cache else None
    if cfile is not None and cfile.is_file():
        try:
            return _load_cached(cfile)
        except Exception as exc:  # a stale or broken cache is rebuilt
            log.info("ignoring face cache %s: %s", cfile, exc)
    bank = _build_face_bank(root, json.loads(labels_text))
    if cfile is not None:
        try:
            _save_cached(cfile, bank)
        except OSError as exc:
            log.info("cannot write face cache %s: %s", cfile, exc)
    return bank


def _save_cached(path: Path, bank: FaceBank) -> None:
    meta = {
        "detector": bank.detector,
        "notes": bank.notes,
        "enrolment": bank.enrolment,
        "heads": {k: {"photo": h.photo, "face_box": list(h.face_box)} for k, h in bank.heads.items()},
    }
    arrays = {f"head_{i}": bank.heads[k].rgba for i, k in enumerate(sorted(bank.heads))}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    # numpy's stub types **kwds so that a dict of arrays could reach its allow_pickle flag
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def _load_cached(path: Path) -> FaceBank:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        heads = {}
        for i, k in enumerate(sorted(meta["heads"])):
            h = meta["heads"][k]
            heads[k] = HeadSprite(k, h["photo"], z[f"head_{i}"].copy(), tuple(h["face_box"]))
    return FaceBank(
        heads, {k: list(v) for k, v in meta["enrolment"].items()}, list(meta["notes"]), meta["detector"]
    )


def _build_face_bank(root: Path, labels: dict) -> FaceBank:
    group = set(labels.get("group_photos", {}))
    det = _Detector()
    heads: dict[str, HeadSprite] = {}
    enrol: dict[str, list[str]] = {}
    notes: list[str] = []
    for identity, rels in sorted(labels["identities"].items()):
        rels = [r for r in rels if r not in group and (root / r).is_file()]
        chosen = None
        for rel in sorted(rels, key=_video_photo_order):
            rgb = _read_rgb(root / rel)
            if rgb is None:
                continue
            faces = det(rgb)
            if len(faces) != 1:
                continue
            chosen = (rel, rgb, faces[0])
            break
        if chosen is None:
            notes.append(f"{identity}: no photo with exactly one detectable face; not used")
            continue
        rel, rgb, box = chosen
        heads[identity] = _head_sprite(identity, (root / rel).resolve(), rgb, box)
        t0 = _thumb(rgb)
        others = []
        for r in rels:
            if r == rel:
                continue
            o = _read_rgb(root / r)
            if o is None:
                continue
            if float((_thumb(o) * t0).sum()) > 0.97:  # a resized copy of the pasted photo
                continue
            others.append(str((root / r).resolve()))
        if not others:
            others = [str((root / rel).resolve())]
            notes.append(f"{identity}: only one photo; the enrolment photo is the one pasted in the videos")
        enrol[identity] = others
    return FaceBank(heads, enrol, notes, det.name)
