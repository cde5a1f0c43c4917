"""Test kit for the watchlist tests: two agencies' cameras and plate-read rows with real JPEG crops
shaped like the extraction writes them."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa

# Asunción: the municipal portico is shared with the police; the police street camera is not shared.
CAMERAS = [
    {
        "camera_id": "MUN-1",
        "agency": "municipal",
        "name": "Av. España portico",
        "lat": -25.2820,
        "lon": -57.6100,
        "kind": "portico",
        "shared_with": ["police911"],
    },
    {
        "camera_id": "MUN-2",
        "agency": "municipal",
        "name": "Mercado 4",
        "lat": -25.2950,
        "lon": -57.6250,
        "kind": "street",
        "shared_with": [],
    },
    {
        "camera_id": "POL-1",
        "agency": "police911",
        "name": "Plaza Uruguaya",
        "lat": -25.2860,
        "lon": -57.6330,
        "kind": "street",
        "shared_with": [],
    },
]


def crop_jpeg(text: str) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 40), (245, 245, 240))
    ImageDraw.Draw(img).text((10, 12), text, fill=(10, 10, 10))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def read_row(
    read_id: str,
    plate: str,
    ts: dt.datetime,
    camera: str = "MUN-1",
    cands: list[tuple[str, float]] | None = None,
) -> dict:
    cands = cands if cands is not None else [(plate, 0.9)]
    agency = next(c["agency"] for c in CAMERAS if c["camera_id"] == camera)
    return {
        "read_id": read_id,
        "camera_id": camera,
        "video_id": f"seg-{camera}",
        "source_uri": f"udp://127.0.0.1/{camera}",
        "ts": ts,
        "offset_s": 0.0,
        "plate": plate,
        "plate_raw": plate,
        "confidence": cands[0][1],
        "candidates": [{"text": t, "score": s} for t, s in cands],
        "crop_jpeg": crop_jpeg(plate),
        "track_len": 5,
        "model_version": "test-v1",
        "agency": agency,
    }


def as_table(rows: list[dict], name: str = "plate_reads") -> pa.Table:
    """Rows conformed to the table's schema, as the live committer hands them over."""
    from lakehouse.conform import conform, to_arrow
    from lakehouse.specs import spec

    return conform(to_arrow(rows, spec(name)), spec(name))
