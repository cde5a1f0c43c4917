"""Crime map page: mounts the crime analysts' view, ``app.pages.crime_map.render(lh)``."""

from __future__ import annotations

from app.ui import session, widgets


def main() -> None:
    try:
        from app.pages.crime_map import render
    except ModuleNotFoundError as exc:
        if exc.name != "app.pages.crime_map":
            raise
        widgets.page_header(
            "Crime map", "Hot spots, heat tables and near-repeat patterns of reported incidents."
        )
        widgets.empty_state("The crime map is not installed in this build.")
        return
    render(session.lakehouse())


main()
