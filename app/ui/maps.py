"""pydeck maps: the camera network and a vehicle's route. Pure functions (no Streamlit calls), so the
tests can check what a map holds.

The base map comes from Carto (no token) and needs the network; offline, the layers still draw on a
plain background. ``PESQUISA_MAP_STYLE`` overrides the style (a style URL, ``light``, ``dark``, or
``none`` for no base map).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pydeck as pdk

PALETTE = [
    [31, 95, 153],  # blue
    [214, 120, 32],  # orange
    [46, 140, 90],  # green
    [150, 70, 160],  # purple
    [120, 120, 120],
]
HOP_OK = [31, 95, 153, 220]
HOP_IMPOSSIBLE = [220, 40, 40, 240]
CAMERA_GREY = [140, 150, 160, 140]


def map_style() -> str | None:
    from lakehouse.settings import get_settings

    style = get_settings().app.map_style.strip()
    return None if style.lower() == "none" else style


def agency_colors(agencies: Sequence[str]) -> dict[str, list[int]]:
    return {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(sorted(set(agencies)))}


def view_for(lats: Sequence[float], lons: Sequence[float]) -> pdk.ViewState:
    """A view that fits the points (zoom from the larger of the two spans)."""
    pts = [(la, lo) for la, lo in zip(lats, lons, strict=True) if la is not None and lo is not None]
    if not pts:
        return pdk.ViewState(latitude=0, longitude=0, zoom=1)
    la = [p[0] for p in pts]
    lo = [p[1] for p in pts]
    # deck.gl: the world is 512 px wide at zoom 0, so degrees per pixel = 360 / (512 * 2^z);
    # fit the larger span (latitude stretched by Mercator) into ~320 px
    mid = math.radians(sum(la) / len(la))
    span = max((max(la) - min(la)) / math.cos(mid), max(lo) - min(lo), 1e-4)
    zoom = max(3.0, min(16.0, math.log2(360.0 * 320.0 / (512.0 * span))))
    return pdk.ViewState(latitude=(max(la) + min(la)) / 2, longitude=(max(lo) + min(lo)) / 2, zoom=zoom)


def cameras_deck(cams: pd.DataFrame, activity: pd.DataFrame | None = None) -> pdk.Deck:
    """Every camera, coloured by agency; porticos drawn larger."""
    df = cams.copy()
    if activity is not None and not activity.empty:
        df = df.merge(activity, on="camera_id", how="left")
    for col in ("plate_reads", "face_sightings"):
        df[col] = df[col].fillna(0).astype(int) if col in df else 0
    colors = agency_colors(df["agency"].tolist())
    df["color"] = df["agency"].map(lambda a: colors[a] + [210])
    df["radius"] = df["kind"].map(lambda k: 45 if k == "portico" else 30)
    df["label"] = df["name"].fillna(df["camera_id"])
    df["shared"] = df["shared_with"].map(lambda s: ", ".join(s) if len(s) else "-")
    data = df[
        [
            "camera_id",
            "label",
            "agency",
            "kind",
            "lat",
            "lon",
            "color",
            "radius",
            "shared",
            "plate_reads",
            "face_sightings",
        ]
    ].to_dict("records")
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            data,
            id="cameras",
            get_position="[lon, lat]",
            get_fill_color="color",
            get_radius="radius",
            radius_min_pixels=5,
            radius_max_pixels=18,
            pickable=True,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
        ),
        pdk.Layer(
            "TextLayer",
            data,
            id="camera-labels",
            get_position="[lon, lat]",
            get_text="camera_id",
            get_size=11,
            get_color=[40, 40, 40],
            get_pixel_offset=[0, -16],
            billboard=True,
        ),
    ]
    tooltip = {
        "html": "<b>{label}</b><br/>{camera_id} · {agency} · {kind}<br/>shared with: {shared}"
        "<br/>plate reads: {plate_reads} · faces: {face_sightings}",
    }
    return pdk.Deck(
        layers=layers,
        initial_view_state=view_for(df["lat"], df["lon"]),
        map_style=map_style(),
        tooltip=tooltip,
    )


def route_deck(route: list[dict[str, Any]], cams: pd.DataFrame) -> pdk.Deck:
    """The cameras as grey dots, the sightings numbered in order, and each hop as a line (red when the
    hop is physically impossible)."""
    pos = {r.camera_id: (r.lat, r.lon) for r in cams.itertuples()}
    points, hops = [], []
    prev = None
    for i, r in enumerate(route, 1):
        lat, lon = r.get("lat"), r.get("lon")
        if lat is None or lon is None:
            lat, lon = pos.get(r["camera_id"], (None, None))
        if lat is None:
            continue
        p = {
            "n": str(i),
            "lat": lat,
            "lon": lon,
            "camera_id": r["camera_id"],
            "time": _fmt_ts(r.get("ts")),
            "plate": r.get("plate") or "",
            "impossible": bool(r.get("impossible")),
            "label": f"{r['camera_id']} {_fmt_ts(r.get('ts'))[11:16]}",
        }
        points.append(p)
        if prev is not None:
            hops.append(
                {
                    "from": [prev["lon"], prev["lat"]],
                    "to": [lon, lat],
                    "color": HOP_IMPOSSIBLE if p["impossible"] else HOP_OK,
                    "label": f"{prev['camera_id']} → {p['camera_id']}",
                    "speed": _fmt_speed(r.get("speed_kmh")),
                    "impossible": "IMPOSSIBLE" if p["impossible"] else "",
                }
            )
        prev = p
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            cams[["camera_id", "lat", "lon"]].to_dict("records"),
            id="all-cameras",
            get_position="[lon, lat]",
            get_fill_color=CAMERA_GREY,
            get_radius=25,
            radius_min_pixels=3,
        ),
        pdk.Layer(
            "LineLayer",
            hops,
            id="hops",
            get_source_position="from",
            get_target_position="to",
            get_color="color",
            get_width=5,
            width_min_pixels=3,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            points,
            id="sightings",
            get_position="[lon, lat]",
            get_fill_color="impossible ? [220, 40, 40] : [31, 95, 153]",
            get_radius=40,
            radius_min_pixels=9,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=2,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            points,
            id="order",
            get_position="[lon, lat]",
            get_text="n",
            get_size=13,
            get_color=[255, 255, 255],
            get_text_anchor="'middle'",
            get_alignment_baseline="'center'",
        ),
        pdk.Layer(
            "TextLayer",
            points,
            id="place",
            get_position="[lon, lat]",
            get_text="label",
            get_size=11,
            get_color=[40, 40, 40],
            get_pixel_offset=[0, -20],
            get_text_anchor="'middle'",
        ),
    ]
    tooltip = {"html": "<b>{n}. {camera_id}</b> {time}{label} {speed} <b>{impossible}</b>"}
    view = view_for(
        [p["lat"] for p in points] or cams["lat"].tolist(), [p["lon"] for p in points] or cams["lon"].tolist()
    )
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=map_style(), tooltip=tooltip)


def _fmt_ts(ts: Any) -> str:
    if ts is None:
        return ""
    try:
        return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, TypeError):
        return str(ts)


def _fmt_speed(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{float(v):.0f} km/h"


def alerts_deck(alerts: list[dict[str, Any]], priority_colors: dict[int, str]) -> pdk.Deck:
    """Where the alerts happened: one dot per alert at its camera, coloured by priority (hex colours)."""

    def rgb(hex_color: str) -> list[int]:
        h = hex_color.lstrip("#")
        return [int(h[i : i + 2], 16) for i in (0, 2, 4)] + [220]

    data = [
        {
            "lat": a["lat"],
            "lon": a["lon"],
            "value": a.get("value"),
            "camera": a.get("camera_name") or a["camera_id"],
            "ts": _fmt_ts(a.get("ts")),
            "priority": a.get("priority"),
            "color": rgb(priority_colors.get(a.get("priority") or 3, "#78909c")),
        }
        for a in alerts
        if a.get("lat") is not None and a.get("lon") is not None
    ]
    layer = pdk.Layer(
        "ScatterplotLayer",
        data,
        id="alerts",
        get_position="[lon, lat]",
        get_fill_color="color",
        get_radius=40,
        radius_min_pixels=6,
        radius_max_pixels=20,
        pickable=True,
        stroked=True,
        get_line_color=[255, 255, 255],
        line_width_min_pixels=1,
    )
    return pdk.Deck(
        layers=[layer],
        initial_view_state=view_for([d["lat"] for d in data], [d["lon"] for d in data]),
        map_style=map_style(),
        tooltip={"html": "<b>P{priority} {value}</b><br/>{camera}<br/>{ts} UTC"},
    )
