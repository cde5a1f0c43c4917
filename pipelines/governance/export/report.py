"""The human-readable report of an evidence package (``report.html``, self-contained, no scripts):
who exported what under which case, one section per item with its frame, crop and clip, and how
to verify the package with or without Pesquisa."""

from __future__ import annotations

import html
from typing import Any

_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eee}
.item{border-top:2px solid #444;margin-top:1.5em;padding-top:.5em}
img{max-width:640px;border:1px solid #999;margin:.25em}
code,pre{background:#f4f4f4;padding:.1em .3em}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _kv(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def render_report(info: dict[str, Any], items: list[dict[str, Any]]) -> str:
    """The report's HTML from ``export.json``'s content and the metadata rows."""
    masking = info.get("masking")
    head = _kv(
        [
            ("Case", info.get("case_number")),
            ("Purpose", info.get("purpose")),
            ("Agency", info.get("agency") or "(administrator, no agency)"),
            ("Exported by", f"{info.get('exported_by')} ({info.get('role')}, OS user {info.get('os_user')})"),
            ("Created (UTC)", info.get("created_at")),
            ("Request", info.get("request")),
            ("Items", info.get("items")),
            ("SHA-256 of the exported ids", info.get("exported_ids_sha256")),
            (
                "Bystanders",
                f"masked: faces and other plates blurred ({masking['boxes_blurred']} boxes over all frames)"
                if masking
                else "NOT masked (unmasked export by a supervisor, logged)",
            ),
            ("Signing key id (SHA-256 of the Ed25519 public key)", info.get("signing_key_id")),
        ]
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evidence package — case {_e(info.get('case_number'))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Evidence package — case {_e(info.get('case_number'))}</h1>",
        head,
    ]
    for n, it in enumerate(items, start=1):
        what = f"plate {it.get('plate')}" if it.get("kind") == "plate" else "face sighting"
        parts.append(
            f"<div class='item'><h2>{n}. {_e(what)} — {_e(it.get('camera_name') or it.get('camera_id'))}, {_e(it.get('ts'))}</h2>"
        )
        parts.append(
            _kv(
                [
                    ("Id", it.get("id")),
                    ("Camera", f"{it.get('camera_id')} {it.get('camera_name') or ''}"),
                    ("Agency", it.get("agency")),
                    ("Time (UTC)", it.get("ts")),
                    ("Source", f"{it.get('source_uri')} at {it.get('offset_s')} s"),
                    (
                        "Confidence / quality",
                        it.get("confidence") if it.get("kind") == "plate" else it.get("quality"),
                    ),
                    ("Box on the frame (x1, y1, x2, y2)", it.get("bbox")),
                    ("Model version", it.get("model_version")),
                    (
                        "Clip",
                        f"{it.get('clip')} ({it.get('clip_frames')} frames, {it.get('clip_start_s')}–{it.get('clip_end_s')} s of the source)"
                        if it.get("clip")
                        else "none",
                    ),
                ]
            )
        )
        for key in ("frame", "crop"):
            if it.get(key):
                parts.append(f"<img src='{_e(it[key])}' alt='{_e(key)}'>")
        if it.get("clip"):
            parts.append(f"<p><a href='{_e(it['clip'])}'>clip {_e(it['clip'])}</a></p>")
        parts.append("</div>")
    if info.get("notes"):
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in info["notes"]) + "</ul>")
    parts.append(
        "<h2>Verifying this package</h2>"
        "<p>Every file is listed with its SHA-256 in <code>SHA256SUMS</code>; "
        "<code>SHA256SUMS.sig</code> is the Ed25519 signature of that file by the agency's registered key.</p>"
        "<pre>sha256sum -c SHA256SUMS\n"
        "openssl pkeyutl -verify -pubin -inkey AGENCY-KEY.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig</pre>"
        "<p>Use the public key the agency published (its id is above), not only the copy in "
        "<code>keys/</code>. With Pesquisa: <code>pesquisa export verify PACKAGE.zip</code>.</p>"
        "</body></html>"
    )
    return "\n".join(parts)
