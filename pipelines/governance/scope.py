"""Agency scoping: which cameras' data a user may search (DESIGN.md §8).

An agency sees its own cameras plus every camera whose ``shared_with`` lists it; rows whose own
``agency`` column is the user's agency are visible too (data the agency ingested from a camera that
is not registered yet). An administrator, or a context without an agency, sees everything
(:func:`camera_scope` returns ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext


@dataclass(frozen=True)
class CameraScope:
    """What one agency may see."""

    agency: str
    cameras: frozenset[str]

    def allows(self, camera_id: str | None, row_agency: str | None = None) -> bool:
        return (camera_id in self.cameras) or (row_agency is not None and row_agency == self.agency)


def visible_cameras(camera_rows: list[dict], agency: str) -> frozenset[str]:
    """Cameras ``agency`` owns or has been shared, from rows of the ``cameras`` table."""
    out = set()
    for r in camera_rows:
        shared = r.get("shared_with") or []
        if r.get("agency") == agency or agency in shared:
            out.add(r["camera_id"])
    return frozenset(out)


def camera_scope(lh: Lakehouse, ctx: SearchContext) -> CameraScope | None:
    """The scope of ``ctx`` (None: unrestricted)."""
    if ctx.sees_all_agencies:
        return None
    rows = lh.read("cameras", columns=["camera_id", "agency", "shared_with"]).to_pylist()
    return CameraScope(agency=str(ctx.agency), cameras=visible_cameras(rows, str(ctx.agency)))
