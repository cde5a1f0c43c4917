"""Test kit for the app tests: a small real home (two agencies' cameras, plate reads with real JPEG
crops, extraction runs with one failure, a bcrypt users file) and AppTest helpers."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

os.environ.setdefault("PESQUISA_BCRYPT_ROUNDS", "4")  # fast hashes in tests (production: 12)

APP_MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PASSWORD = "correct horse 42"
T0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)

# Asunción: the municipal portico A1 is shared with the police; municipal street camera A2 is not.
CAMERAS = [
    {
        "camera_id": "MUN-A1",
        "agency": "municipal",
        "name": "Av. España portico",
        "lat": -25.2820,
        "lon": -57.6100,
        "kind": "portico",
        "shared_with": ["police911"],
    },
    {
        "camera_id": "MUN-A2",
        "agency": "municipal",
        "name": "Mercado 4",
        "lat": -25.2950,
        "lon": -57.6250,
        "kind": "street",
        "shared_with": [],
    },
    {
        "camera_id": "POL-P1",
        "agency": "police911",
        "name": "Plaza Uruguaya",
        "lat": -25.2860,
        "lon": -57.6330,
        "kind": "street",
        "shared_with": ["municipal"],
    },
    {
        "camera_id": "POL-P2",
        "agency": "police911",
        "name": "Ruta Transchaco portico",
        "lat": -25.1500,
        "lon": -57.5400,
        "kind": "portico",
        "shared_with": [],
    },
]

# (plate, raw/candidates, camera, minutes after T0)
READS = [
    ("ABC1234", [("ABC1234", 0.95)], "MUN-A1", 0),
    ("ABC1234", [("ABC1234", 0.91)], "POL-P1", 6),  # 2.4 km in 6 min: plausible
    ("A8C1234", [("A8C1234", 0.55), ("ABC1234", 0.35)], "POL-P2", 8),  # 16 km in 2 min: impossible
    ("ABC1234", [("ABC1234", 0.90)], "MUN-A2", 30),  # municipal only: hidden from the police user
    ("XYZ9876", [("XYZ9876", 0.97)], "POL-P1", 12),
    ("AB123CD", [("AB123CD", 0.93)], "MUN-A1", 20),
]


def plate_jpeg(text: str, size: tuple[int, int] = (220, 60), quality: int = 85) -> bytes:
    """A real JPEG of a plate-like image showing ``text``."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle([2, 2, size[0] - 3, size[1] - 3], outline=(20, 20, 20), width=3)
    draw.rectangle([2, 2, size[0] - 3, 2 + size[1] // 5], fill=(30, 60, 150))
    font = ImageFont.load_default(size=int(size[1] * 0.57))
    draw.text((size[0] // 2, size[1] // 2 + size[1] // 10), text, fill=(15, 15, 15), font=font, anchor="mm")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def plate_rows() -> list[dict]:
    rows = []
    for i, (plate, cands, cam, minutes) in enumerate(READS):
        agency = next(c["agency"] for c in CAMERAS if c["camera_id"] == cam)
        rows.append(
            {
                "read_id": f"r{i:03d}",
                "camera_id": cam,
                "video_id": f"v-{cam}",
                "source_uri": f"/videos/{cam}.mp4",
                "ts": T0 + timedelta(minutes=minutes),
                "offset_s": minutes * 60.0,
                "plate": plate,
                "plate_raw": plate,
                "plate_format": "PY",
                "confidence": cands[0][1],
                "candidates": [{"text": t, "score": s} for t, s in cands],
                "char_confidences": [cands[0][1]] * len(plate),
                "bbox": [100.0, 200.0, 320.0, 260.0],
                "crop_jpeg": plate_jpeg(plate),
                "track_len": 12,
                "model_version": "test-v1",
                "agency": agency,
            }
        )
    return rows


def run_rows() -> list[dict]:
    rows = []
    for i, cam in enumerate(["MUN-A1", "MUN-A2", "POL-P1", "POL-P2"]):
        rows.append(
            {
                "video_id": f"v-{cam}",
                "model_version": "test-v1",
                "source_uri": f"/videos/{cam}.mp4",
                "camera_id": cam,
                "started": T0 + timedelta(minutes=i),
                "finished": T0 + timedelta(minutes=i + 1),
                "status": "succeeded",
                "frames_decoded": 750,
                "frames_processed": 150,
                "plate_reads": 2,
                "face_sightings": 0,
                "duration_s": 42.0,
                "error": None,
            }
        )
    rows.append(
        {
            "video_id": "v-broken",
            "model_version": "test-v1",
            "source_uri": "/videos/broken.mp4",
            "camera_id": "POL-P1",
            "started": T0,
            "finished": T0 + timedelta(seconds=1),
            "status": "failed",
            "frames_decoded": 0,
            "frames_processed": 0,
            "plate_reads": 0,
            "face_sightings": 0,
            "duration_s": 0.4,
            "error": "moov atom not found (truncated file)",
        }
    )
    return rows


def build_home(home: Path) -> Path:
    """Write the tables and users file into ``home`` (fast: a few small Delta commits)."""
    from app.auth import add_user
    from lakehouse import Lakehouse
    from pipelines.cameras import import_camera_rows

    lh = Lakehouse(home=home)
    import_camera_rows(lh, CAMERAS)
    lh.append("plate_reads", plate_rows())
    lh.append("processing_runs", run_rows())
    users = home / "users.yaml"
    add_user(users, "ana", PASSWORD, "investigator", "police911", name="Ana Benítez")
    add_user(users, "root", PASSWORD, "admin", None, name="Root Admin")
    add_user(users, "eng", PASSWORD, "engineer", "municipal", name="Edu Engineer")
    add_user(users, "sup", PASSWORD, "supervisor", "police911", name="Sara Supervisor")
    add_user(users, "ali", PASSWORD, "analyst", "municipal", name="Ali Analyst")
    return home


# ------------------------------------------------------------------ AppTest helpers


def signed_in(username: str, password: str = PASSWORD, timeout: float = 90) -> AppTest:
    at = AppTest.from_file(APP_MAIN, default_timeout=timeout)
    at.run()
    assert [t.value for t in at.title] == ["Pesquisa"], "a visitor must see the sign-in page first"
    at.text_input(key="signin_user").set_value(username)
    at.text_input(key="signin_password").set_value(password)
    button(at, "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]


def open_case(at: AppTest, number: str = "C-2026-0042", purpose: str = "robbery on Av. España") -> AppTest:
    at.text_input(key="case_number_input").set_value(number)
    at.text_area(key="case_purpose_input").set_value(purpose)
    button(at, "Open case").click()
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def texts(at: AppTest) -> str:
    """All markdown/caption/info/error text on the page, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "error", "warning", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)
