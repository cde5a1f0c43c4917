"""Crime map for analysts: H3 hex map (counts, kernel density or Gi* hot spots) with type and period
filters, cameras over the hot spots, hour x weekday heat table, near-repeat (Knox) table and camera
coverage of hot spots. Everything is computed by :mod:`pipelines.crime`.

Mounted by the app (``app/pages/crime.py`` calls :func:`render`), or standalone::

    streamlit run app/pages/crime_map.py -- --home DIR
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pydeck as pdk
import streamlit as st

if __package__ in (None, ""):  # standalone `streamlit run app/pages/crime_map.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lakehouse import Lakehouse  # noqa: E402
from lakehouse.timeutil import FROM_HELP, TO_HELP, TimeRange, zone  # noqa: E402
from pipelines.crime.coverage import coverage_of_cells, load_cameras  # noqa: E402
from pipelines.crime.data import incident_overview  # noqa: E402
from pipelines.crime.density import kernel_density  # noqa: E402
from pipelines.crime.heatmap import h3_counts  # noqa: E402
from pipelines.crime.hotspots import gi_star  # noqa: E402
from pipelines.crime.near_repeat import knox  # noqa: E402
from pipelines.crime.temporal import WEEKDAYS, hour_weekday, pivot  # noqa: E402


def _reader() -> Any:
    """The signed-in user's context: cameras are those their agency may know of (None standalone)."""
    try:
        from app.ui import session
    except ImportError:
        return None
    user = session.current_user()
    return session.search_context(user, None) if user is not None else None


LAYERS = ["Counts", "Kernel density", "Gi* hot spots"]
HOT = {99: [180, 20, 30, 210], 95: [230, 80, 60, 190], 90: [250, 160, 120, 170]}
COLD = {99: [30, 70, 170, 210], 95: [70, 130, 210, 190], 90: [150, 190, 235, 170]}
RAMP = [
    [255, 255, 204],
    [255, 237, 160],
    [254, 217, 118],
    [254, 178, 76],
    [253, 141, 60],
    [252, 78, 42],
    [227, 26, 28],
    [177, 0, 38],
]


# ----------------------------------------------------------------------------------- cached compute
def _key(lh: Lakehouse) -> tuple[str, int]:
    lh.ensure("incidents")
    return lh.storage.root, lh.version("incidents")


@st.cache_data(show_spinner=False, max_entries=32)
def _overview(_lh: Lakehouse, key: tuple[str, int]) -> dict[str, Any]:
    return incident_overview(_lh)


@st.cache_data(show_spinner=False, max_entries=32)
def _counts(
    _lh: Lakehouse, key: tuple[str, int], res: int, types: tuple[str, ...], start: Any, end: Any
) -> pl.DataFrame:
    return h3_counts(_lh, res=res, types=list(types) or None, start=start, end=end)


@st.cache_data(show_spinner=False, max_entries=32)
def _gi(
    _lh: Lakehouse, key: tuple[str, int], res: int, k: int, types: tuple[str, ...], start: Any, end: Any
) -> pl.DataFrame:
    return gi_star(_lh, res=res, k=k, types=list(types) or None, start=start, end=end)


@st.cache_data(show_spinner=False, max_entries=32)
def _kde(
    _lh: Lakehouse, key: tuple[str, int], res: int, bw: float, types: tuple[str, ...], start: Any, end: Any
) -> pl.DataFrame:
    return kernel_density(_lh, res=res, bandwidth_m=bw, types=list(types) or None, start=start, end=end)


@st.cache_data(show_spinner=False, max_entries=32)
def _hours(
    _lh: Lakehouse, key: tuple[str, int], tz: str, types: tuple[str, ...], start: Any, end: Any
) -> pl.DataFrame:
    return hour_weekday(_lh, tz=tz, types=list(types) or None, start=start, end=end)


@st.cache_data(show_spinner=False, max_entries=16)
def _knox(
    _lh: Lakehouse, key: tuple[str, int], perms: int, types: tuple[str, ...], start: Any, end: Any
) -> tuple[pl.DataFrame, dict[str, Any], int]:
    r = knox(_lh, permutations=perms, types=list(types) or None, start=start, end=end)
    return r.table, r.close, r.n


# ----------------------------------------------------------------------------------- map helpers
def _ramp(values: list[float]) -> list[list[int]]:
    if not values:
        return []
    hi = max(values) or 1.0
    out = []
    for v in values:
        i = min(len(RAMP) - 1, int((v / hi) ** 0.5 * (len(RAMP) - 1) + 0.5))
        out.append([*RAMP[i], 190])
    return out


def _view(lats: list[float], lons: list[float]) -> pdk.ViewState:
    if not lats:
        return pdk.ViewState(latitude=0, longitude=0, zoom=1)
    import math

    span = max(
        max(lats) - min(lats), (max(lons) - min(lons)) * math.cos(math.radians(sum(lats) / len(lats))), 1e-3
    )
    zoom = max(3.0, min(15.0, math.log2(360.0 / span) + 0.2))  # fits the span in a ~480 px tall map
    return pdk.ViewState(
        latitude=(max(lats) + min(lats)) / 2, longitude=(max(lons) + min(lons)) / 2, zoom=zoom
    )


def _map_style() -> str | None:
    try:
        from app.ui.maps import map_style

        return map_style()
    except ImportError:  # pragma: no cover - standalone without the app package
        return None


def hex_deck(
    cells: list[dict[str, Any]],
    tooltip: str,
    cameras: list[dict[str, Any]] | None = None,
    radius_m: float = 150.0,
) -> pdk.Deck:
    """H3HexagonLayer of ``cells`` (each with ``h3`` and ``color``), cameras drawn on top with their
    coverage radius."""
    layers = [
        pdk.Layer(
            "H3HexagonLayer",
            cells,
            id="cells",
            get_hexagon="h3",
            get_fill_color="color",
            extruded=False,
            pickable=True,
            stroked=True,
            get_line_color=[255, 255, 255, 90],
            line_width_min_pixels=0.5,
        ),
    ]
    if cameras:
        layers += [
            pdk.Layer(
                "ScatterplotLayer",
                cameras,
                id="camera-radius",
                get_position="[lon, lat]",
                get_radius=radius_m,
                get_fill_color=[20, 120, 200, 40],
                get_line_color=[20, 120, 200, 160],
                stroked=True,
                line_width_min_pixels=1,
                pickable=False,
            ),
            pdk.Layer(
                "ScatterplotLayer",
                cameras,
                id="cameras",
                get_position="[lon, lat]",
                get_radius=25,
                radius_min_pixels=4,
                get_fill_color=[20, 60, 140, 230],
                pickable=True,
            ),
        ]
    lats = [c["lat"] for c in cells] or [c["lat"] for c in cameras or []]
    lons = [c["lon"] for c in cells] or [c["lon"] for c in cameras or []]
    return pdk.Deck(
        layers=layers, initial_view_state=_view(lats, lons), map_style=_map_style(), tooltip={"html": tooltip}
    )


def _heat_style(wide: pl.DataFrame) -> Any:
    """A pandas Styler colouring the hour x weekday table (no matplotlib needed)."""
    pdf = wide.to_pandas().set_index("hour")
    hi = float(pdf.to_numpy().max()) or 1.0

    def color(v: float) -> str:
        i = min(len(RAMP) - 1, int((v / hi) * (len(RAMP) - 1) + 0.5))
        r, g, b = RAMP[i]
        fg = "white" if i >= 5 else "black"
        return f"background-color: rgb({r},{g},{b}); color: {fg}"

    return pdf.style.map(color).format("{:.1f}")


# ----------------------------------------------------------------------------------- page
def render(lh: Lakehouse) -> None:
    """The crime map page (no ``st.set_page_config``: the app or :func:`main` sets it)."""
    st.title("Crime map")
    st.caption(
        "Reported incidents on H3 hexagons: counts, kernel density and Getis-Ord Gi* hot spots; "
        "hour x weekday heat table; near-repeat (Knox) test; camera coverage of hot spots."
    )
    key = _key(lh)
    ov = _overview(lh, key)
    if ov["n"] == 0:
        st.info("No incidents yet. Import a portal export with `pesquisa incidents import FILE.csv`.")
        return

    f1, f2, f3, f4 = st.columns([3, 3, 1, 2])
    types = f1.multiselect("Incident types", ov["types"], default=[], key="cm_types", placeholder="All types")
    home_tz = lh.settings.time.zone
    first, last = ov["first"].astimezone(zone(home_tz)).date(), ov["last"].astimezone(zone(home_tz)).date()
    period = f2.date_input(
        f"Period (days, {home_tz}; the last day included)",
        value=(first, last),
        min_value=first,
        max_value=last,
        key="cm_period",
        help=f"{FROM_HELP}. {TO_HELP}",
    )
    res = int(f3.number_input("H3 res", min_value=5, max_value=10, value=8, step=1, key="cm_res"))
    layer = f4.radio("Layer", LAYERS, index=2, key="cm_layer", horizontal=False)
    start, end = _period(period, home_tz)
    tkey = tuple(sorted(types))

    counts = _counts(lh, key, res, tkey, start, end)
    if counts.height == 0:
        st.info("No incident matches these filters.")
        return
    gi = _gi(lh, key, res, 1, tkey, start, end)
    cams = load_cameras(lh, _reader())
    radius = 150.0

    m = st.columns(4)
    m[0].metric("Incidents", f"{int(counts['count'].sum()):,}")
    m[1].metric("Cells with incidents", f"{counts.height:,}")
    hot = gi.filter(pl.col("hot") & (pl.col("count") > 0))
    m[2].metric("Gi* hot cells (p < 0.05)", f"{hot.height:,}")
    m[3].metric("Cameras", f"{cams.height:,}")

    cam_rows = cams.select("camera_id", "name", "lat", "lon").to_dicts() if cams.height else []
    if layer == "Counts":
        rows = counts.to_dicts()
        for r, c in zip(rows, _ramp([float(r["count"]) for r in rows]), strict=True):
            r["color"] = c
        deck = hex_deck(rows, "<b>{h3}</b><br/>{count} incidents", cam_rows, radius)
    elif layer == "Kernel density":
        bw = st.slider("Bandwidth (m)", 100, 1000, 250, 50, key="cm_bw")
        kde = _kde(lh, key, res, float(bw), tkey, start, end)
        rows = kde.with_columns(pl.col("density").round(1)).to_dicts()
        for r, c in zip(rows, _ramp([float(r["density"]) for r in rows]), strict=True):
            r["color"] = c
        deck = hex_deck(rows, "<b>{h3}</b><br/>{density} incidents/km²", cam_rows, radius)
    else:
        sig = gi.filter(pl.col("confidence") > 0).with_columns(pl.col("z").round(2), pl.col("p").round(4))
        rows = sig.to_dicts()
        for r in rows:
            r["color"] = (HOT if r["z"] > 0 else COLD)[r["confidence"]]
        deck = hex_deck(rows, "<b>{h3}</b><br/>{count} incidents<br/>Gi* z = {z}, p = {p}", cam_rows, radius)
        st.caption("Gi* (k = 1 ring, two-sided normal p): red = hot at 99/95/90 % confidence, blue = cold.")
    st.pydeck_chart(deck, height=480, key="cm_map")

    tab_hours, tab_nr, tab_cov, tab_cells = st.tabs(
        ["Hour x weekday", "Near repeat", "Camera coverage", "Hot-spot cells"]
    )
    with tab_hours:
        tz = st.text_input("Local time zone", value=home_tz, key="cm_tz")
        try:
            hours = _hours(lh, key, tz, tkey, start, end)
        except Exception as exc:  # an unknown zone name
            st.error(f"Cannot use time zone {tz!r}: {exc}")
        else:
            st.caption(
                f"Incidents per local hour and weekday ({tz}); incidents known only by a time window "
                f"are spread over it (aoristic): {hours['windowed'].sum():.1f} of {hours['count'].sum():.0f}."
            )
            st.dataframe(_heat_style(pivot(hours)), width="stretch", height=880)
            by_day = hours.group_by("weekday").agg(pl.col("count").sum()).sort("weekday")
            st.caption(" · ".join(f"{WEEKDAYS[d]} {c:.0f}" for d, c in by_day.iter_rows()))
    with tab_nr:
        perms = st.select_slider("Monte Carlo shuffles", [49, 99, 199, 499], value=99, key="cm_perms")
        try:
            table, close, n = _knox(lh, key, int(perms), tkey, start, end)
        except ValueError as exc:
            st.warning(str(exc))
        else:
            st.markdown(
                f"**Knox test** on {n:,} incidents: pairs within {close['distance_m']:g} m and {close['days']:g} "
                f"days — observed {close['observed']:,}, expected {close['expected']:,.1f}, "
                f"ratio {close['ratio'] or float('nan'):.2f}, p = {close['p']:.3f}."
            )
            st.dataframe(table.to_pandas(), hide_index=True, width="stretch")
    with tab_cov:
        if cams.height == 0:
            st.info("No cameras registered (`pesquisa cameras import FILE`): every hot spot is uncovered.")
        radius = float(st.slider("Camera radius (m)", 50, 500, 150, 25, key="cm_radius"))
        cov = coverage_of_cells(hot, cams, radius_m=radius, top=10)
        s = cov.summary
        c = st.columns(3)
        c[0].metric("Hot cells covered", f"{s['covered_cells']} / {s['hot_cells']}")
        c[1].metric(
            "Share of hot-spot incidents covered",
            "-" if s["share_incidents"] is None else f"{100 * s['share_incidents']:.0f}%",
        )
        c[2].metric("Radius", f"{radius:g} m")
        st.markdown("**Cover first** (greedy: each site adds the most uncovered hot-spot incidents)")
        st.dataframe(cov.priorities.to_pandas(), hide_index=True, width="stretch")
    with tab_cells:
        st.dataframe(
            gi.filter(pl.col("confidence") > 0)
            .select("h3", "count", "z", "p", "confidence", "lat", "lon")
            .to_pandas(),
            hide_index=True,
            width="stretch",
        )


def _period(value: Any, tz: str | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The picked days as ``--from`` / ``--to`` mean them (:mod:`lakehouse.timeutil`: the last day
    is included whole), in the home time zone ``tz``."""
    if isinstance(value, tuple | list):
        d0 = value[0] if len(value) > 0 else None
        d1 = value[1] if len(value) > 1 else None
    else:
        d0, d1 = value, None
    window = TimeRange.parse(d0, d1, tz=tz)
    return window.start, window.end


def main(argv: list[str] | None = None) -> None:
    """Standalone entry: ``streamlit run app/pages/crime_map.py -- --home DIR`` (default $PESQUISA_HOME)."""
    import argparse

    p = argparse.ArgumentParser(prog="crime_map")
    p.add_argument("--home", default=None)
    args, _ = p.parse_known_args(argv)
    st.set_page_config(page_title="Pesquisa crime map", layout="wide")
    render(Lakehouse(home=args.home))


if __name__ == "__main__":
    main(sys.argv[1:])
