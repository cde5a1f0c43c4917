"""The "Export evidence" panel of the search pages (plate search, face search, route): pick results,
build the signed package with the SAME library call as ``pesquisa export``
(:func:`pipelines.governance.export.export_evidence`: case required, role and agency checked,
bystanders masked unless a supervisor unmasks, audited, held), then download it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from app.ui import session, widgets


def export_panel(
    kind: str, rows: list[dict[str, Any]], key: str, labels: dict[str, str] | None = None
) -> None:
    """``kind`` ``plate`` (rows carry ``read_id``) or ``face`` (``sighting_id``)."""
    from pipelines.governance.identity import allowed

    id_col = "read_id" if kind == "plate" else "sighting_id"
    by_id = {r[id_col]: r for r in rows if r.get(id_col)}
    if not by_id:
        return
    user = session.signed_in_user()
    labels = labels or {}

    def label(i: str) -> str:
        r = by_id[i]
        what = r.get("plate") if kind == "plate" else f"face {i[:8]}"
        return f"{what} · {widgets.fmt_ts(r.get('ts'))} · {labels.get(r.get('camera_id') or '', r.get('camera_id'))}"

    with st.expander("Export evidence", icon=":material/inventory_2:"):
        if not allowed(user.role, "export"):
            st.info(f"Your role ({user.role}) may not export evidence.")
            return
        ids = list(by_id)
        picked = st.multiselect(
            "Results to export", ids, default=ids[: min(3, len(ids))], format_func=label, key=f"{key}_pick"
        )
        unmask = st.checkbox(
            "Do not blur bystanders (supervisors only; logged)",
            key=f"{key}_unmask",
            disabled=not allowed(user.role, "unmask"),
        )
        st.caption(
            "The package holds a clip around each result, its frame and crop, metadata, a report, a "
            "SHA-256 manifest and your agency's signature; the exported results are put on legal hold "
            "under the case. Bystanders' faces and other plates are blurred."
        )
        if st.button(
            "Build evidence package", key=f"{key}_build", disabled=not picked, icon=":material/package_2:"
        ):
            _build(kind, picked, bool(unmask), key)
        built = st.session_state.get(f"{key}_package")
        if built and built["ids"] == list(picked):
            st.success(
                f"Package for case {built['case']}: {built['items']} items, "
                f"{'masked' if built['masked'] else 'UNMASKED'}; SHA-256 `{built['sha256'][:16]}…`, audit {built['audit_id'][:8]}"
            )
            st.download_button(
                "Download package",
                data=built["data"],
                file_name=built["name"],
                mime="application/zip",
                key=f"{key}_download",
                icon=":material/download:",
            )


def _build(kind: str, ids: list[str], unmask: bool, key: str) -> None:
    from pipelines.governance.export import ExportRequest, export_evidence

    user = session.signed_in_user()
    case = session.active_case()
    ctx = session.search_context(user, case)
    st.session_state.pop(f"{key}_package", None)
    req = ExportRequest(
        read_ids=tuple(ids) if kind == "plate" else (),
        sighting_ids=tuple(ids) if kind == "face" else (),
        unmask=unmask,
    )
    name = f"evidence-{(ctx.case_number or 'nocase').replace('/', '_')}-{kind}s.zip"
    with tempfile.TemporaryDirectory() as tmp, st.spinner("Cutting clips and masking bystanders…"):
        try:
            res = export_evidence(session.lakehouse(), ctx, req, Path(tmp) / name)
        except PermissionError as exc:  # no case, role, agency, unmask: refused and logged
            st.error(f"Export refused: {exc}", icon=":material/block:")
            return
        except ValueError as exc:
            st.error(f"Cannot export: {exc}")
            return
        data = res.path.read_bytes()
    st.session_state[f"{key}_package"] = {
        "name": name,
        "ids": list(ids),
        "data": data,
        "case": ctx.case_number,
        "items": len(res.items),
        "masked": res.masked,
        "sha256": res.package_sha256,
        "audit_id": res.audit_id,
    }
