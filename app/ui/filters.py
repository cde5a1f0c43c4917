"""Search filters shared by the plate, face and route pages: time window, cameras, area.

The widgets only collect values; the filtering itself happens in the search library: the window
becomes the :class:`ReadScope`'s time range (:meth:`Filters.read_scope`), cameras and area go in the
typed query, as the CLI does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app.ui import widgets

AREA_KINDS = ["Anywhere", "Around a camera", "Around a point", "Bounding box", "H3 cells", "GeoJSON polygon"]


@dataclass
class Filters:
    start: date | None
    end: date | None
    cameras: list[str] | None
    area: Any  # pipelines.search.Area | None
    problem: str | None = None

    def read_scope(self, ctx: Any, tz: str | None) -> Any:
        """The :class:`pipelines.governance.scope.ReadScope` of a search by ``ctx`` over this
        window (days in the home time zone ``tz``; ``To`` is that whole day)."""
        from pipelines.governance.scope import ReadScope

        return ReadScope.of(ctx, start=self.start, end=self.end, tz=tz)


def filters(prefix: str, cams: pd.DataFrame, labels: dict[str, str]) -> Filters:
    """Time window, camera and area pickers (inside an expander, collapsed when unused)."""
    with st.expander("Time, cameras and area", expanded=False):
        start, end = widgets.time_window(prefix)
        picked = st.multiselect(
            "Cameras (none = every camera you can see)",
            list(labels),
            format_func=lambda c: labels.get(c, c),
            key=f"{prefix}_cameras",
        )
        area, problem = area_picker(prefix, cams, labels)
    if start and end and start > end:
        problem = "The start day is after the end day."
    return Filters(start, end, picked or None, area, problem)


def area_picker(prefix: str, cams: pd.DataFrame, labels: dict[str, str]) -> tuple[Any, str | None]:
    from pipelines.search.area import Area

    kind = st.selectbox("Area", AREA_KINDS, key=f"{prefix}_area_kind")
    try:
        if kind == "Around a camera":
            c1, c2 = st.columns([2, 1])
            cid = c1.selectbox(
                "Camera", list(labels), format_func=lambda c: labels.get(c, c), key=f"{prefix}_area_cam"
            )
            radius = c2.number_input("Radius (m)", 50, 50_000, 1000, step=100, key=f"{prefix}_area_cam_r")
            if cid is None:
                return None, None
            row = cams[cams["camera_id"] == cid].iloc[0]
            return Area(near=(float(row["lat"]), float(row["lon"]), float(radius))), None
        if kind == "Around a point":
            c1, c2, c3 = st.columns(3)
            lat0, lon0 = _center(cams)
            lat = c1.number_input("Latitude", -90.0, 90.0, lat0, format="%.5f", key=f"{prefix}_area_lat")
            lon = c2.number_input("Longitude", -180.0, 180.0, lon0, format="%.5f", key=f"{prefix}_area_lon")
            radius = c3.number_input("Radius (m)", 50, 50_000, 1000, step=100, key=f"{prefix}_area_r")
            return Area(near=(float(lat), float(lon), float(radius))), None
        if kind == "Bounding box":
            text = st.text_input("min_lon, min_lat, max_lon, max_lat", key=f"{prefix}_area_bbox")
            if not text.strip():
                return None, "Enter the four corners of the box."
            from pipelines.search.area import parse_bbox

            return Area(bbox=parse_bbox(text)), None
        if kind == "H3 cells":
            text = st.text_input("H3 cells (comma separated)", key=f"{prefix}_area_h3")
            cells = tuple(c.strip() for c in text.split(",") if c.strip())
            if not cells:
                return None, "Enter at least one H3 cell."
            return Area(h3_cells=cells), None
        if kind == "GeoJSON polygon":
            up = st.file_uploader("GeoJSON polygon", type=["geojson", "json"], key=f"{prefix}_area_geojson")
            if up is None:
                return None, "Upload a GeoJSON polygon."
            return Area(polygon=json.loads(up.getvalue())), None
    except (ValueError, KeyError, IndexError) as exc:
        return None, f"Area: {exc}"
    return None, None


def _center(cams: pd.DataFrame) -> tuple[float, float]:
    if cams.empty:
        return 0.0, 0.0
    return float(cams["lat"].mean()), float(cams["lon"].mean())
