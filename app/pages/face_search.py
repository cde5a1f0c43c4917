"""Face search page: upload a photo; the closest face sightings (top-k) in the cameras the user may
see, as a gallery of crops with similarity, time and camera.

The search is ``pipelines.search.search_faces`` — the same call as ``pesquisa faces search`` — which
detects the probe face, queries the FAISS index, refuses a search without a case and audits it."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from app.ui import data, evidence, filters, session, widgets

RESULTS_KEY = "face_results"
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp"]


def decode_upload(name: str, payload: bytes):
    """Uploaded bytes -> upright RGB array, through the faces library's loader (EXIF-aware)."""
    from pipelines.faces import load_image_rgb

    suffix = Path(name).suffix.lower() or ".jpg"
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(payload)
        tmp.flush()
        return load_image_rgb(tmp.name)


def run_search(name: str, payload: bytes, k: int, flt: filters.Filters, min_quality: float = 0.0) -> None:
    from pipelines.faces import ImageReadError
    from pipelines.governance import MissingCaseError
    from pipelines.search import FaceQuery, search_faces

    lh = session.lakehouse()
    ctx = session.search_context(session.signed_in_user(), session.active_case())
    t0 = time.perf_counter()
    try:
        image = decode_upload(name, payload)
        index, analyzer, lock = session.face_search_tools()
        with lock:
            scope = flt.read_scope(ctx, lh.settings.time.zone)
            query = FaceQuery(
                image=image,
                k=k,
                cameras=None if flt.cameras is None else tuple(flt.cameras),
                area=flt.area,
                photo=payload,
                photo_suffix=Path(name).suffix.lower() or ".jpg",
                min_quality=min_quality or None,
            )
            result = search_faces(lh, query, scope, analyzer=analyzer, index=index)
    except MissingCaseError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Search refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
        return
    except PermissionError as exc:  # the case's status or warrant scope refused it (logged)
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Search refused: {exc}", icon=":material/block:")
        return
    except ImageReadError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Cannot read the photo: {exc}")
        return
    except ValueError as exc:  # e.g. no face in the photo
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Cannot search: {exc}")
        return
    rows = data.attach_crops(lh, "face_sightings", "sighting_id", result.hits)
    st.session_state[RESULTS_KEY] = {
        "name": name,
        "rows": rows,
        "k": k,
        "seconds": time.perf_counter() - t0,
        "case": ctx.case_number,
        "face_found": result.face_found,
        "probe_quality": result.probe_quality,
        "index": result.index,
    }


def similarity(r: dict) -> float | None:
    """The library's ``score`` = 1 / (1 + L2 distance): 1 identical, ~0.67 at distance 0.5."""
    return None if r.get("score") is None else float(r["score"])


def show_results(res: dict, labels: dict[str, str]) -> None:
    rows = res["rows"]
    if not res["face_found"]:
        st.warning(
            f"No face was found in `{res['name']}`. Use a sharper, frontal photo where the face is at "
            "least 40 pixels wide. (The attempt is in the audit log.)",
            icon=":material/face_retouching_off:",
        )
        return
    index = res.get("index") or {}
    st.markdown(
        f"**{len(rows)}** closest sightings to `{res['name']}` · {res['seconds']:.2f} s · "
        f"probe quality {res['probe_quality']:.2f} · index {index.get('kind', '?')} "
        f"({index.get('vectors', 0):,} faces) · case {res['case']}"
    )
    if not rows:
        widgets.empty_state("No face sighting to compare with in the cameras and time you can see.")
        return
    st.caption(
        "Similarity is a ranking aid, not an identification: a person must review every candidate. "
        "Faces of the same person are usually within distance 0.5 (similarity above 0.67)."
    )
    cols = st.columns(5)
    for i, r in enumerate(rows):
        with cols[i % 5]:
            if r.get("crop_jpeg"):
                st.image(r["crop_jpeg"], width="stretch")
            sim = similarity(r)
            dist = r.get("distance")
            score = f"{sim:.2f}" if sim is not None else "–"
            extra = f" · d={dist:.2f}" if dist is not None else ""
            q = r.get("quality")
            extra += f" · quality {q:.2f}" if q is not None else ""
            st.caption(
                f"**#{i + 1} · similarity {score}**{extra}  \n{widgets.fmt_ts(r.get('ts'))}  \n"
                f"{labels.get(r.get('camera_id'), r.get('camera_id'))}"
            )
    with st.expander("As a table"):
        # biometric results: st.table has no CSV download or copy toolbar (st.dataframe has)
        st.table(
            pd.DataFrame(
                {
                    "rank": range(1, len(rows) + 1),
                    "similarity": [similarity(r) for r in rows],
                    "distance": [r.get("distance") for r in rows],
                    "ts": [r.get("ts") for r in rows],
                    "camera": [labels.get(r.get("camera_id"), r.get("camera_id")) for r in rows],
                    "quality": [r.get("quality") for r in rows],
                    "source": [f"{r.get('source_uri') or ''} @ {r.get('offset_s') or 0:.1f}s" for r in rows],
                }
            )
            .assign(ts=lambda d: [widgets.fmt_ts(t) for t in d["ts"]])
            .set_index("rank"),
        )
    evidence.export_panel("face", rows, "face_export", labels)


def main() -> None:
    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Face search",
        "Upload a photo of a face; see the most similar faces the cameras recorded.",
        needs_case=True,
    )
    cams = data.cameras(lh, user.scope_agency)
    labels = data.camera_labels(cams)
    c1, c2 = st.columns([3, 1])
    with c1:
        upload = st.file_uploader("Probe photo", type=IMAGE_TYPES, key="face_probe")
        k = st.slider("Results (k)", 5, 100, 20, step=5, key="face_k")
        min_q = st.slider(
            "Minimum face quality",
            0.0,
            1.0,
            0.0,
            step=0.05,
            key="face_min_quality",
            help="0 keeps every face, small and blurred ones too (a person seen once may only "
            "appear in a poor image); raise it to hide low-quality faces",
        )
    with c2:
        if upload is not None:
            st.image(upload.getvalue(), caption="probe", width="stretch")
    flt = filters.filters("faces", cams, labels)
    if st.button(
        "Search faces", type="primary", icon=":material/search:", key="face_search", disabled=upload is None
    ):
        if flt.problem:
            st.error(flt.problem)
        else:
            with st.spinner(
                "Detecting the face and searching the index (the first search loads the models)…"
            ):
                run_search(upload.name, upload.getvalue(), int(k), flt, float(min_q))
    res = st.session_state.get(RESULTS_KEY)
    if res is not None:
        show_results(res, labels)
    elif upload is None:
        widgets.empty_state("Upload a clear, frontal photo of one face to start.")


main()
