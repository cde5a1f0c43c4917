"""Which pages each role gets, grouped as the sidebar shows them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import streamlit as st


@dataclass(frozen=True)
class PageDef:
    path: str  # relative to app/main.py
    title: str
    icon: str
    url_path: str
    roles: frozenset[str]
    section: str


ASSETS = Path(__file__).resolve().parents[1] / "assets"
SEARCH_ROLES = frozenset({"investigator", "supervisor", "admin"})
ALL_ROLES = frozenset({"investigator", "analyst", "supervisor", "engineer", "admin"})
MOVEMENT_ROLES = SEARCH_ROLES  # canvass, convoy, stakeout and anomalies name plates

PAGES: tuple[PageDef, ...] = (
    PageDef(
        "pages/plate_search.py", "Plate search", ":material/directions_car:", "plates", SEARCH_ROLES, "Search"
    ),
    PageDef("pages/face_search.py", "Face search", ":material/face:", "faces", SEARCH_ROLES, "Search"),
    PageDef("pages/route.py", "Route", ":material/route:", "route", SEARCH_ROLES, "Search"),
    PageDef("pages/alerts.py", "Alerts", ":material/notifications_active:", "alerts", SEARCH_ROLES, "Live"),
    PageDef(
        "pages/watchlist.py", "Watchlist", ":material/playlist_add_check:", "watchlist", SEARCH_ROLES, "Live"
    ),
    PageDef(
        "pages/crime.py",
        "Crime map",
        ":material/map:",
        "crime-map",
        frozenset({"analyst", "investigator", "supervisor", "admin"}),
        "Analysis",
    ),
    PageDef("pages/cameras.py", "Cameras", ":material/videocam:", "cameras", ALL_ROLES, "Analysis"),
    PageDef(
        "pages/movement_canvass.py", "Canvass", ":material/groups:", "canvass", MOVEMENT_ROLES, "Movement"
    ),
    PageDef(
        "pages/movement_convoy.py",
        "Convoy",
        ":material/directions_car:",
        "convoy",
        MOVEMENT_ROLES,
        "Movement",
    ),
    PageDef(
        "pages/movement_stakeout.py",
        "Stakeout",
        ":material/visibility:",
        "stakeout",
        MOVEMENT_ROLES,
        "Movement",
    ),
    PageDef(
        "pages/movement_anomalies.py",
        "Anomalies",
        ":material/report:",
        "anomalies",
        MOVEMENT_ROLES,
        "Movement",
    ),
    PageDef("pages/movement_traffic.py", "Traffic", ":material/insights:", "traffic", ALL_ROLES, "Movement"),
    PageDef(
        "pages/ingest.py",
        "Ingest status",
        ":material/sync:",
        "ingest",
        frozenset({"engineer", "supervisor", "admin"}),
        "Operations",
    ),
    PageDef(
        "pages/lineage.py",
        "Lineage",
        ":material/account_tree:",
        "lineage",
        frozenset({"engineer", "admin"}),
        "Operations",
    ),
    PageDef(
        "pages/audit.py",
        "Audit log",
        ":material/fact_check:",
        "audit",
        frozenset({"supervisor", "admin"}),
        "Operations",
    ),
)


def crime_map_available() -> bool:
    """The crime map page mounts ``app.pages.crime_map.render`` once that module exists."""
    try:
        return importlib.util.find_spec("app.pages.crime_map") is not None
    except ModuleNotFoundError:
        return False


def page_defs_for(role: str) -> list[PageDef]:
    defs = [p for p in PAGES if role in p.roles]
    if not crime_map_available():
        defs = [p for p in defs if p.url_path != "crime-map"]
    return defs


def build_pages(role: str) -> dict[str, list]:
    sections: dict[str, list] = {}
    for p in page_defs_for(role):
        sections.setdefault(p.section, []).append(
            st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path)
        )
    return sections
