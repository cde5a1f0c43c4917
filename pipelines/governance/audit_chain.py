"""The audit log's hash chain, its signed daily anchors and ``pesquisa audit verify`` (issue 12.4).

Writing (:func:`append_chained`): under the ``audit_log`` commit lock, read the table's version ``v``
and the chain head, give the row ``seq = head + 1``, ``prev_hash = head.row_hash``,
``delta_version = v + 1`` and ``row_hash = SHA-256(canonical fields)``, append it as ONE commit and
check that the commit got version ``v + 1`` (a writer that bypassed the lock would fork the chain:
refused loudly). Rows written before the chain existed are sealed by the first chained row: its
``prev_hash`` is ``legacy:`` + the SHA-256 of those rows.

Anchoring: after each write the day's head (seq, row_hash, Delta version) is written to
``HOME/audit/anchors/YYYY-MM-DD.json`` and signed with the home's Ed25519 key
(``HOME/keys/audit-anchor.key``, owner-only; the public key next to it can be published). An
attacker who edits a row and re-chains every later row cannot fix the anchors without the key.

Verifying (:func:`verify_chain`): recompute every hash in ``seq`` order, check links, sequence
(deleted or inserted rows), strictly increasing Delta versions, the table's append-only property,
that the Delta log never removed a file, and every anchor's signature and hash. Reports the first
broken link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse import Lakehouse
from pipelines.governance.identity import lakehouse_home

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TABLE = "audit_log"
GENESIS = "0" * 64
CHAIN_FIELDS = (
    "audit_id",
    "ts",
    "user",
    "role",
    "agency",
    "case_number",
    "purpose",
    "action",
    "parameters",
    "result_count",
    "os_user",
    "outcome",
    "reason",
    "result_digest",
    "probe_sha256",
    "table_versions",
    "seq",
    "delta_version",
    "prev_hash",
)


class AuditChainError(RuntimeError):
    """The chain could not be extended safely (its next version kept being taken by other writers)."""


def _canon(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def row_hash(row: dict[str, Any]) -> str:
    payload = json.dumps(
        [_canon(row.get(f)) for f in CHAIN_FIELDS], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def legacy_seal(rows: list[dict[str, Any]]) -> str:
    """``prev_hash`` of the first chained row: seals the rows written before the chain existed."""
    if not rows:
        return GENESIS
    fields = (
        "audit_id",
        "ts",
        "user",
        "role",
        "agency",
        "case_number",
        "purpose",
        "action",
        "parameters",
        "result_count",
    )
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r["audit_id"]):
        h.update(json.dumps([_canon(r.get(f)) for f in fields], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return "legacy:" + h.hexdigest()


# ------------------------------------------------------------------------------------------ paths
def audit_dir(lh: Lakehouse) -> Path:
    return lakehouse_home(lh) / "audit"


def _private(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _head_path(lh: Lakehouse) -> Path:
    return audit_dir(lh) / "head.json"


def anchors_dir(lh: Lakehouse) -> Path:
    return audit_dir(lh) / "anchors"


def _key_paths(lh: Lakehouse) -> tuple[Path, Path]:
    d = lakehouse_home(lh) / "keys"
    return d / "audit-anchor.key", d / "audit-anchor.pub"


def _signing_key(lh: Lakehouse) -> Ed25519PrivateKey:
    from pipelines.governance.keys import load_or_create

    priv, pub = _key_paths(lh)
    return load_or_create(priv, pub)[0]


def _public_key(lh: Lakehouse) -> Ed25519PublicKey | None:
    from pipelines.governance.keys import load_public

    _, pub = _key_paths(lh)
    return load_public(pub)


# ------------------------------------------------------------------------------------------ head
def _scan_head(lh: Lakehouse) -> tuple[int, str]:
    rows = lh.read(TABLE).to_pylist()
    chained = [r for r in rows if r.get("seq") is not None]
    if chained:
        last = max(chained, key=lambda r: r["seq"])
        return int(last["seq"]), str(last["row_hash"])
    return 0, legacy_seal(rows)


def _read_head(lh: Lakehouse, version: int) -> tuple[int, str]:
    path = _head_path(lh)
    try:
        h = json.loads(path.read_text())
        if int(h["delta_version"]) == version:
            return int(h["seq"]), str(h["row_hash"])
    except (OSError, ValueError, KeyError):
        pass
    return _scan_head(lh)


def append_chained(lh: Lakehouse, row: dict[str, Any]) -> dict[str, Any]:
    """Append ``row`` as the next link of the chain (one commit) and anchor the new head.

    The link names the Delta version it must become (``delta_version = v + 1``) and is committed
    as exactly that version (:meth:`Lakehouse.append_as_next`): when another writer took it first
    (another process, or another machine on object storage, where the table lock is per process)
    nothing is committed and the row is re-linked after the new head, so the chain never forks."""
    from deltalake import DeltaTable
    from deltalake.exceptions import CommitFailedError

    lh.ensure(TABLE)
    uri = lh.uri(TABLE)
    opts = lh.storage.storage_options or None
    delay = 0.05
    for attempt in range(lh.max_retries + 1):
        with lh._commit_lock(TABLE):  # noqa: SLF001 (the chain must be extended under the table's lock)
            version = DeltaTable(uri, storage_options=opts).version()
            seq, prev = _read_head(lh, version)
            link = {**row, "seq": seq + 1, "prev_hash": prev, "delta_version": version + 1}
            link["row_hash"] = row_hash(link)
            try:
                got = lh.append_as_next(TABLE, [link], version)
            except CommitFailedError as exc:
                if attempt == lh.max_retries:
                    raise AuditChainError(
                        f"audit_log version {version + 1} was taken by another writer "
                        f"{attempt + 1} times in a row; nothing was written: retry"
                    ) from exc
                got = -1
            if got == version + 1:
                _private(audit_dir(lh))
                head = {"seq": link["seq"], "row_hash": link["row_hash"], "delta_version": got}
                _head_path(lh).write_text(json.dumps(head))
                write_anchor(lh, head, day=link["ts"].astimezone(dt.UTC).date())
                return link
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


def write_anchor(lh: Lakehouse, head: dict[str, Any], *, day: dt.date) -> Path:
    """Sign and write the day's head anchor (overwritten as the day's head moves)."""
    import base64

    body = {
        "date": day.isoformat(),
        "seq": int(head["seq"]),
        "row_hash": head["row_hash"],
        "delta_version": int(head["delta_version"]),
    }
    msg = json.dumps(body, sort_keys=True).encode()
    sig = _signing_key(lh).sign(msg)
    _private(anchors_dir(lh))
    out = anchors_dir(lh) / f"{day.isoformat()}.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({**body, "signature": base64.b64encode(sig).decode()}, sort_keys=True))
    tmp.replace(out)
    return out


# ------------------------------------------------------------------------------------------ verify
@dataclass
class VerifyReport:
    rows: int = 0
    chained: int = 0
    legacy: int = 0
    anchors: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str, **where: Any) -> None:
        self.problems.append(problem)
        if self.first_broken is None:
            self.first_broken = {"problem": problem, **where}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "chained": self.chained,
            "legacy": self.legacy,
            "anchors": self.anchors,
            "first_broken": self.first_broken,
            "problems": self.problems,
        }


def _log_removes(lh: Lakehouse) -> list[int]:
    """Versions of the Delta log that removed data files (never legitimate on this table)."""
    if not lh.storage.is_local:
        return []
    out = []
    for p in sorted((Path(lh.uri(TABLE)) / "_delta_log").glob("*.json")):
        try:
            for line in p.read_text().splitlines():
                if '"remove"' in line and json.loads(line).get("remove", {}).get("dataChange", True):
                    out.append(int(p.stem))
                    break
        except (OSError, ValueError):
            out.append(int(p.stem) if p.stem.isdigit() else -1)
    return out


def verify_chain(lh: Lakehouse) -> VerifyReport:
    rep = VerifyReport()
    if not lh.exists(TABLE):
        return rep
    try:
        rows = lh.read(TABLE).to_pylist()
    except Exception as exc:  # a data file changed under the log
        rep.add(f"the audit table cannot be read ({exc.__class__.__name__}: {exc})")
        return rep
    rep.rows = len(rows)
    legacy = [r for r in rows if r.get("seq") is None]
    chained = sorted((r for r in rows if r.get("seq") is not None), key=lambda r: (r["seq"], r["audit_id"]))
    rep.legacy, rep.chained = len(legacy), len(chained)
    prev, expect_seq, last_version = legacy_seal(legacy), 1, -1
    by_seq: dict[int, dict[str, Any]] = {}
    for r in chained:
        seq = int(r["seq"])
        where = {"seq": seq, "audit_id": r["audit_id"], "ts": _canon(r["ts"])}
        if seq in by_seq:
            rep.add(f"row seq {seq} appears twice (an inserted row)", **where)
            continue
        by_seq[seq] = r
        if seq != expect_seq:
            rep.add(
                f"rows seq {expect_seq}..{seq - 1} are missing (deleted rows)"
                if seq > expect_seq
                else f"row seq {seq} is out of order",
                **where,
            )
        if r.get("prev_hash") != prev:
            rep.add(f"row seq {seq} does not link to the previous row (prev_hash mismatch)", **where)
        if row_hash(r) != r.get("row_hash"):
            rep.add(f"row seq {seq} was edited (its hash does not match its fields)", **where)
        dv = r.get("delta_version")
        if dv is None or int(dv) <= last_version:
            rep.add(
                f"row seq {seq} claims Delta version {dv}, not after {last_version} (rewritten or inserted)",
                **where,
            )
        last_version = int(dv) if dv is not None else last_version
        prev, expect_seq = r.get("row_hash"), seq + 1
    if lh.table(TABLE).metadata().configuration.get("delta.appendOnly") != "true":
        rep.add("the audit table is no longer append-only (delta.appendOnly was turned off)")
    for v in _log_removes(lh):
        rep.add(
            f"Delta log version {v} removed audit data files (rows deleted or rewritten)", delta_version=v
        )
    _verify_anchors(lh, rep, by_seq, expect_seq - 1)
    return rep


def _verify_anchors(
    lh: Lakehouse, rep: VerifyReport, by_seq: dict[int, dict[str, Any]], last_seq: int
) -> None:
    import base64

    from cryptography.exceptions import InvalidSignature

    files = sorted(anchors_dir(lh).glob("*.json")) if anchors_dir(lh).exists() else []
    if not files:
        if by_seq:
            rep.add("no signed anchor exists for a chained audit log (anchors deleted)")
        return
    pub = _public_key(lh)
    if pub is None:
        rep.add("the anchor public key is missing (HOME/keys/audit-anchor.pub)")
        return
    for f in files:
        rep.anchors += 1
        try:
            a = json.loads(f.read_text())
            sig = base64.b64decode(a.pop("signature"))
            pub.verify(sig, json.dumps(a, sort_keys=True).encode())
        except (OSError, ValueError, KeyError, InvalidSignature):
            rep.add(f"anchor {f.name} is not validly signed", anchor=f.name)
            continue
        seq = int(a["seq"])
        row = by_seq.get(seq)
        if row is None:
            rep.add(
                f"anchor {f.name} names row seq {seq}, which is gone (the log was truncated)",
                anchor=f.name,
                seq=seq,
            )
        elif row.get("row_hash") != a["row_hash"]:
            rep.add(
                f"row seq {seq} differs from the signed anchor {f.name} (the table was edited and re-chained)",
                anchor=f.name,
                seq=seq,
            )
