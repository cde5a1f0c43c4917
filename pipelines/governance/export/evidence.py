"""``export_evidence``: the one library call behind ``pesquisa export`` and the app's export buttons.

1. Refuse (and log the refusal as an ``export`` audit row) an export without a case and purpose, by
   a role without the ``export`` permission, ``unmask`` without the ``unmask`` permission
   (supervisors, admins), or outside what the case allows (closed, another agency's, expired).
2. Resolve the items: named plate reads or face sightings, a plate's route (``plates.route``, itself
   an audited search) or the results of a logged search (``--query-audit-id``: re-run as it ran,
   on the table versions it read). An id the caller's agency may not see (or that does not exist) is
   refused, never dropped.
3. For each item: a clip of the source around it (± ``export.clip_margin_s``), its best frame and its
   crop, masked (:mod:`~pipelines.governance.export.masking`) unless ``unmask``.
4. Metadata (CSV + JSON, no embeddings), an HTML report, ``export.json``, the agency's public key; a
   SHA-256 manifest signed with the agency's Ed25519 key (:mod:`~pipelines.governance.export.package`).
5. A legal hold on the exported reads/sightings under the case (so retention keeps what the package
   refers to), then ONE ``export`` audit row: parameters, counts, the SHA-256 of the exported ids and
   of the package, the key id, whether it was unmasked. The package file appears only after both.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from pipelines.governance.audit import MissingCaseError, audit, audit_refusal, mark_logged, require_case
from pipelines.governance.context import SearchContext
from pipelines.governance.export import package as pkg
from pipelines.governance.export.masking import FACE, PLATE, Masker, Subject, mask_sequence
from pipelines.governance.identity import allowed
from pipelines.governance.scope import ReadScope

ACTION = "export"
FORMAT_VERSION = 1
#: row columns that go into the metadata (never embeddings, crops or per-character data)
META_COLUMNS = (
    "kind",
    "id",
    "camera_id",
    "camera_name",
    "agency",
    "ts",
    "offset_s",
    "video_id",
    "source_uri",
    "plate",
    "confidence",
    "quality",
    "det_score",
    "bbox",
    "track_len",
    "model_version",
    "clip",
    "clip_start_s",
    "clip_end_s",
    "clip_frames",
    "frame",
    "crop",
    "boxes_blurred",
)


class ExportRefused(PermissionError):
    """The export is not allowed (logged as a refused ``export`` audit row)."""


class ExportError(ValueError):
    """The export cannot be made (bad request, unreadable source); nothing was written."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export: exactly one of ``read_ids``, ``sighting_ids``, ``route_plate`` or
    ``query_audit_id``; ``unmask`` keeps bystanders visible (supervisors and admins, logged)."""

    read_ids: tuple[str, ...] = ()
    sighting_ids: tuple[str, ...] = ()
    route_plate: str | None = None
    query_audit_id: str | None = None
    unmask: bool = False
    clip_margin_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "read_ids", tuple(dict.fromkeys(str(i).strip() for i in self.read_ids if str(i).strip()))
        )
        object.__setattr__(
            self,
            "sighting_ids",
            tuple(dict.fromkeys(str(i).strip() for i in self.sighting_ids if str(i).strip())),
        )
        given = [
            bool(self.read_ids),
            bool(self.sighting_ids),
            bool(self.route_plate),
            bool(self.query_audit_id),
        ]
        if sum(given) != 1:
            raise ExportError("name exactly one of --reads, --sightings, --route or --query-audit-id")
        if self.clip_margin_s is not None and not 0 < float(self.clip_margin_s) <= 60:
            raise ExportError("the clip margin must be between 0 and 60 seconds")

    def parameters(self) -> dict[str, Any]:
        """What the audit row keeps of the request: ids only as a count and a SHA-256 (the ids
        themselves stay in the hold that protects them), the route's plate, the audit id."""
        p: dict[str, Any] = {"unmask": self.unmask}
        if self.read_ids:
            p.update(source="reads", requested=len(self.read_ids), requested_sha256=_ids_sha(self.read_ids))
        elif self.sighting_ids:
            p.update(
                source="sightings",
                requested=len(self.sighting_ids),
                requested_sha256=_ids_sha(self.sighting_ids),
            )
        elif self.route_plate:
            p.update(source="route", plate=self.route_plate)
        else:
            p.update(source="query", query_audit_id=self.query_audit_id)
        return p


@dataclass
class ExportResult:
    path: Path
    package_sha256: str
    items: list[dict[str, Any]]
    audit_id: str
    hold_id: str | None
    key_id: str
    masked: bool
    boxes_blurred: int
    frames: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "package_sha256": self.package_sha256,
            "items": len(self.items),
            "ids": [i["id"] for i in self.items],
            "audit_id": self.audit_id,
            "hold_id": self.hold_id,
            "signing_key_id": self.key_id,
            "masked": self.masked,
            "boxes_blurred": self.boxes_blurred,
            "frames": self.frames,
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
        }


def _ids_sha(ids: Any) -> str:
    from pipelines.governance.audit import result_digest

    return result_digest(ids)


# ------------------------------------------------------------------------------------- refusals
def _refuse(lh: Lakehouse, ctx: SearchContext, reason: str, request: ExportRequest | None) -> ExportRefused:
    audit_refusal(lh, ctx, ACTION, reason, request.parameters() if request is not None else None)
    return mark_logged(ExportRefused(reason))


def _check(lh: Lakehouse, scope: ReadScope, request: ExportRequest) -> None:
    from pipelines.governance.cases import ScopeRefused

    ctx = scope.ctx
    try:
        require_case(ctx)
    except MissingCaseError as exc:
        raise _refuse(lh, ctx, f"export refused: {exc}", request) from None
    if not allowed(ctx.role, "export"):
        raise _refuse(lh, ctx, f"{ctx.user} ({ctx.role}) may not export evidence", request)
    if request.unmask and not allowed(ctx.role, "unmask"):
        raise _refuse(
            lh, ctx, f"{ctx.user} ({ctx.role}) may not export unmasked evidence (supervisors only)", request
        )
    try:
        scope.check(lh, ACTION)  # closed / expired / another agency's case: logged there
    except ScopeRefused as exc:
        raise mark_logged(ExportRefused(str(exc))) from None


# ------------------------------------------------------------------------------------- items
def _read_rows(lh: Lakehouse, table: str, key: str, ids: list[str]) -> list[dict[str, Any]]:
    import pyarrow.dataset as pds

    if not ids or not lh.exists(table):
        return []
    rows: list[dict[str, Any]] = lh.read(table, filter=pds.field(key).isin(ids)).to_pylist()
    return rows


def _table_of(kind: str) -> tuple[str, str, str]:
    return (
        ("plate_reads", "read_id", "plates") if kind == PLATE else ("face_sightings", "sighting_id", "faces")
    )


def _shown(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")


def _released_holds(lh: Lakehouse, case_number: str, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{id: hold}`` of this case's RELEASED holds that named ``ids`` (the case's own evidence: its
    investigators know these ids, so saying why they are gone reveals nothing of another agency)."""
    from pipelines.governance.holds import list_holds

    if not lh.exists("holds"):
        return {}
    col = "read_ids" if kind == PLATE else "sighting_ids"
    out: dict[str, dict[str, Any]] = {}
    for h in list_holds(lh):
        if h["case_number"] == case_number and h["released_at"] is not None:
            for i in set(h.get(col) or ()) & set(ids):
                out.setdefault(i, h)
    return out


def _visible(
    lh: Lakehouse, scope: ReadScope, request: ExportRequest, kind: str, ids: list[str]
) -> list[dict[str, Any]]:
    """The rows of ``ids`` (in order); any id missing or not visible to the caller is refused.

    A missing id is usually one retention erased (only data under a legal hold outlives its
    retention period); the message says so without telling an id of another agency's row from one
    that does not exist. An id this case once held, whose hold was released, is named as such."""
    table, key, data_type = _table_of(kind)
    rows = {r[key]: r for r in _read_rows(lh, table, key, ids)}
    cams = scope.cameras(lh, data_type)
    hidden = [
        i
        for i in ids
        if i not in rows
        or (cams is not None and not cams.allows(rows[i]["camera_id"], rows[i].get("agency")))
    ]
    if hidden:
        what = "plate reads" if kind == PLATE else "face sightings"
        released = _released_holds(lh, scope.ctx.case_number, kind, [i for i in hidden if i not in rows])
        parts = []
        if released:
            h = next(iter(released.values()))
            parts.append(
                f"{len(released)} of the {what} asked for were erased by retention after this case's "
                f"hold {h['hold_id']} on them was released ({h['released_at']:%Y-%m-%d %H:%M} UTC, by "
                f"{h['released_by']}): {_shown(sorted(released))}"
            )
        rest = [i for i in hidden if i not in released]
        if rest:
            parts.append(
                f"{len(rest)} of the {what} asked for are not there for agency "
                f"{scope.ctx.agency or '(none)'}: erased by retention (only data under a legal hold "
                f"is kept past its retention period), never recorded, or not visible to it: {_shown(rest)}"
            )
        raise _refuse(lh, scope.ctx, "; ".join(parts), request)
    return [rows[i] for i in ids]


def _route_ids(lh: Lakehouse, scope: ReadScope, plate: str) -> list[str]:
    from pipelines.search.route import RouteQuery, plate_route

    return [s["read_id"] for s in plate_route(lh, RouteQuery(plate), scope)]


def _query_ids(
    lh: Lakehouse, scope: ReadScope, request: ExportRequest, notes: list[str]
) -> tuple[str, list[str]]:
    """(kind, ids) of a logged search of this case, re-run on the table versions it read."""
    import pyarrow.dataset as pds
    from deltalake.exceptions import DeltaError

    from pipelines.governance.audit import result_digest
    from pipelines.governance.replay import REPLAYABLE, PinnedLakehouse, surviving_versions
    from pipelines.governance.replay import _rerun as rerun  # noqa: PLC2701 (the one re-run of a logged search)

    aid = str(request.query_audit_id)
    rows = (
        lh.read("audit_log", filter=pds.field("audit_id") == aid).to_pylist()
        if lh.exists("audit_log")
        else []
    )
    if not rows or rows[0]["case_number"] != scope.ctx.case_number:
        raise _refuse(lh, scope.ctx, f"no logged search {aid} under case {scope.ctx.case_number}", request)
    row = rows[0]
    if row["action"] not in REPLAYABLE or row.get("outcome") not in (None, "ok"):
        raise ExportError(
            f"audit row {aid} is a {row['action']} ({row.get('outcome')}), not a search to export"
        )
    params = json.loads(row["parameters"] or "{}")
    # a retention purge removes the versions it read (by design): re-run on the first version kept
    versions, moved = surviving_versions(lh, json.loads(row["table_versions"] or "{}"))
    try:
        ids, col, behind = rerun(PinnedLakehouse(lh, versions), row, params)
    except (LookupError, ValueError, OSError, DeltaError) as exc:
        raise ExportError(f"cannot re-run search {aid}: {exc}") from exc
    if moved:
        notes.append(
            f"search {aid} read table versions since purged by retention ("
            + ", ".join(f"{t} v{a} -> v{b}" for t, (a, b) in sorted(moved.items()))
            + "): re-run on the first version kept; rows retention erased are not in the package"
        )
    if row.get("result_digest") and result_digest(ids) != row["result_digest"]:
        notes.append(f"search {aid} re-ran to results that differ from the logged digest")
    # movement tools log plates; the evidence is the reads behind them
    return (PLATE if col == "read_id" else FACE), list(dict.fromkeys(behind))


def resolve_items(
    lh: Lakehouse, scope: ReadScope, request: ExportRequest, notes: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    """``(kind, row)`` of every item to export, each checked against the caller's scope."""
    if request.read_ids:
        kind, ids = PLATE, list(request.read_ids)
    elif request.sighting_ids:
        kind, ids = FACE, list(request.sighting_ids)
    elif request.route_plate:
        kind, ids = PLATE, _route_ids(lh, scope, request.route_plate)
    else:
        kind, ids = _query_ids(lh, scope, request, notes)
        table, key, _ = _table_of(kind)
        present = {r[key] for r in _read_rows(lh, table, key, ids)}
        erased = [i for i in ids if i not in present]
        if erased:  # seen by the logged search, erased by retention since (no hold kept them)
            notes.append(
                f"{len(erased)} of the {len(ids)} rows the search returned have been erased by "
                "retention since (no legal hold kept them) and are not in the package"
            )
            ids = [i for i in ids if i in present]
            if not ids:
                raise ExportError(
                    f"nothing to export: all {len(erased)} rows search {request.query_audit_id} "
                    "returned have been erased by retention (no legal hold kept them)"
                )
    if not ids:
        raise ExportError("nothing to export: the request matched no plate read or face sighting")
    return [(kind, r) for r in _visible(lh, scope, request, kind, ids)]


# ------------------------------------------------------------------------------------- media
def _jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ExportError("cannot encode a JPEG")
    return bytes(buf.tobytes())


def _decode_jpeg(data: bytes) -> np.ndarray | None:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if arr is None else np.ascontiguousarray(arr[:, :, ::-1])


def _source(lh: Lakehouse, row: dict[str, Any]) -> str | None:
    if row.get("source_uri"):
        return str(row["source_uri"])
    rows = _read_rows(lh, "videos", "video_id", [row["video_id"]]) if row.get("video_id") else []
    return str(rows[0]["uri"]) if rows and rows[0].get("uri") else None


def _item_media(
    lh: Lakehouse,
    kind: str,
    row: dict[str, Any],
    *,
    name: str,
    masker: Masker | None,
    margin: float,
    detect_every: int,
    crf: int,
    files: dict[str, bytes],
    notes: list[str],
) -> dict[str, Any]:
    from pipelines.governance.export.clips import ClipError, read_window, write_clip

    bbox = tuple(float(v) for v in (row.get("bbox") or [])) or None
    subject = Subject(kind, bbox, row.get("plate") if kind == PLATE else None) if bbox else None  # type: ignore[arg-type]
    info: dict[str, Any] = {"clip": None, "frame": None, "crop": None, "boxes_blurred": 0}
    src = _source(lh, row)
    offset = float(row.get("offset_s") or 0.0)
    if src is not None:
        try:
            win = read_window(src, max(0.0, offset - margin), offset + margin)
        except ClipError as exc:
            notes.append(f"{name}: no clip ({exc})")
            win = None
        if win is not None:
            at = win.index_at(offset)
            if masker is not None:
                frames, counts = mask_sequence(masker, win.frames, subject, at, detect_every)
                info["boxes_blurred"] += counts["boxes_blurred"]
            else:
                frames = win.frames
            if len(frames) > 1:
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    out = write_clip(frames, win.fps, Path(tmp) / "clip.mp4", crf=crf)
                    files[f"clips/{name}.mp4"] = out.read_bytes()
                info.update(clip=f"clips/{name}.mp4", clip_start_s=win.times[0], clip_end_s=win.times[-1])
            info["clip_frames"] = len(frames)
            if at is not None:
                files[f"frames/{name}.jpg"] = _jpeg(frames[at])
                info["frame"] = f"frames/{name}.jpg"
    else:
        notes.append(f"{name}: the source video is unknown (no clip)")
    crop = row.get("crop_jpeg")
    if crop:
        data = bytes(crop)
        if masker is not None:
            img = _decode_jpeg(data)
            if img is not None:
                masked, n = masker.mask_still(
                    img, Subject(kind, (0.0, 0.0, 0.0, 0.0), subject.text if subject else None)
                )
                info["boxes_blurred"] += n
                data = _jpeg(masked) if n else data
        files[f"crops/{name}.jpg"] = data
        info["crop"] = f"crops/{name}.jpg"
    return info


# ------------------------------------------------------------------------------------- documents
def _meta_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat()
    if isinstance(v, float | np.floating):
        return round(float(v), 4)
    if isinstance(v, list | tuple):
        return [_meta_value(x) for x in v]
    return v


def _metadata(items: list[dict[str, Any]]) -> tuple[bytes, list[dict[str, Any]]]:
    rows = [{c: _meta_value(i.get(c)) for c in META_COLUMNS} for i in items]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(META_COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(
            {k: json.dumps(v) if isinstance(v, list) else ("" if v is None else v) for k, v in r.items()}
        )
    return buf.getvalue().encode("utf-8"), rows


def _cameras(lh: Lakehouse) -> dict[str, str]:
    if not lh.exists("cameras"):
        return {}
    return {
        r["camera_id"]: r.get("name") or ""
        for r in lh.read("cameras", columns=["camera_id", "name"]).to_pylist()
    }


# ------------------------------------------------------------------------------------- the call
def export_evidence(
    lh: Lakehouse,
    who: SearchContext | ReadScope,
    request: ExportRequest,
    out: str | os.PathLike[str],
    *,
    masker: Masker | None = None,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write the evidence package ``out`` (a .zip) for ``request`` (see module doc)."""
    from pipelines.governance.export.report import render_report
    from pipelines.governance.holds import add_hold
    from pipelines.governance.keys import agency_signing_key, public_pem

    t0 = time.perf_counter()
    scope = who if isinstance(who, ReadScope) else ReadScope(ctx=who)
    ctx = scope.ctx
    out_path = Path(out)
    if out_path.suffix.lower() != ".zip":
        raise ExportError(f"the package must be a .zip file, got {out_path.name}")
    if not out_path.parent.is_dir():
        raise ExportError(f"the folder {out_path.parent} does not exist")
    _check(lh, scope, request)
    notes: list[str] = []
    items_in = resolve_items(lh, scope, request, notes)
    s = lh.settings.export
    margin = float(request.clip_margin_s or s.clip_margin_s)
    if not request.unmask and masker is None:
        masker = Masker(pad=s.mask_pad)
    elif masker is not None:
        masker.pad = float(s.mask_pad)
    use_masker = None if request.unmask else masker
    names = _cameras(lh)
    files: dict[str, bytes] = {}
    items: list[dict[str, Any]] = []
    for n, (kind, row) in enumerate(items_in, start=1):
        rid = row["read_id"] if kind == PLATE else row["sighting_id"]
        name = f"{n:03d}-{kind}-{rid[:16]}"
        media = _item_media(
            lh,
            kind,
            row,
            name=name,
            masker=use_masker,
            margin=margin,
            detect_every=s.detect_every,
            crf=s.crf,
            files=files,
            notes=notes,
        )
        items.append({**row, **media, "kind": kind, "id": rid, "camera_name": names.get(row["camera_id"])})
    ids = [i["id"] for i in items]
    key, kid = agency_signing_key(lh, ctx.agency, user=ctx.user)
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    csv_bytes, meta_rows = _metadata(items)
    info = {
        "format": "pesquisa-evidence",
        "format_version": FORMAT_VERSION,
        "created_at": created.isoformat(),
        "case_number": ctx.case_number,
        "purpose": ctx.purpose,
        "agency": ctx.agency,
        "exported_by": ctx.user,
        "role": ctx.role,
        "os_user": ctx.os_user,
        "request": request.parameters(),
        "items": len(items),
        "exported_ids_sha256": _ids_sha(ids),
        "masked": use_masker is not None,
        "masking": (
            {
                "detectors": ["face: MTCNN (pipelines.faces)", "plate: RapidOCR (pipelines.plates)"],
                "detect_every_frames": s.detect_every,
                "pad": s.mask_pad,
                "boxes_blurred": sum(i["boxes_blurred"] for i in items),
            }
            if use_masker is not None
            else None
        ),
        "clip_margin_s": margin,
        "signing_key_id": kid,
        "signature": {"algorithm": "Ed25519", "manifest": pkg.MANIFEST, "signature": pkg.SIGNATURE},
        "notes": notes,
    }
    files["metadata/items.csv"] = csv_bytes
    files["metadata/items.json"] = json.dumps(meta_rows, indent=2, ensure_ascii=False).encode("utf-8")
    files[pkg.INFO] = json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    files[pkg.PUBLIC_KEY] = public_pem(key.public_key())
    files["report.html"] = render_report(info, meta_rows).encode("utf-8")
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        digest = pkg.write_package(tmp, files, key)
        reads = [i["id"] for i in items if i["kind"] == PLATE]
        sightings = [i["id"] for i in items if i["kind"] == FACE]
        hold = add_hold(
            lh,
            ctx,
            ctx.case_number,
            read_ids=reads,
            sighting_ids=sightings,
            reason=f"evidence export {digest[:16]}",
        )
        params = {
            **request.parameters(),
            "items": len(items),
            "reads": len(reads),
            "sightings": len(sightings),
            "exported_ids_sha256": info["exported_ids_sha256"],
            "package_sha256": digest,
            "signing_key_id": kid,
            "hold_id": hold["hold_id"],
            "masked": use_masker is not None,
            "boxes_blurred": sum(i["boxes_blurred"] for i in items),
            "clip_margin_s": margin,
        }
        row = audit(lh, scope, ACTION, params, len(items), result_ids=ids, now=created)
        tmp.replace(out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return ExportResult(
        path=out_path,
        package_sha256=digest,
        items=meta_rows,
        audit_id=row["audit_id"],
        hold_id=hold["hold_id"],
        key_id=kid,
        masked=use_masker is not None,
        boxes_blurred=int(params["boxes_blurred"]),
        frames=sum(int(i.get("clip_frames") or 0) for i in items),
        seconds=time.perf_counter() - t0,
        notes=notes,
    )


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
