"""Plate search index: a term dictionary over every text a read may be, with postings.

Layout under ``HOME/index/plates`` (a derived artifact: delete it and it is rebuilt from the table;
with the tables on object storage it is shared there and this directory is its cache,
:mod:`pipelines.search.index_dir`):

- ``manifest.json`` — table version covered, the Delta data files covered (path -> file number),
  files since removed from the table ("dead": their postings are ignored), segments, vocabulary;
- ``seg-NNNNNN/`` — one per build/update step, immutable:
  ``keys64.npy`` (texts of <= 8 characters packed big-endian into sorted integers; ``keys.npy``,
  fixed-width bytes, for wider ones) + ``postings.npy`` (read number, OCR score, best-read flag),
  ``reads.npy`` (time, camera, agency, data file: one record per read, memory-mapped for filtering),
  ``payload.arrow`` (zstd Arrow IPC in small batches: what a hit shows);
- ``vocab-NNNNNN/`` — the distinct texts of all segments, sorted, with their lengths and
  character/confusion-class signatures (``keys.npy``, ``keys64.npy``, ``lens.npy``, ``raw.npy``,
  ``canon.npy``, ``counts.npy``) and confusion-class bigram postings (``big_off.npy``,
  ``big_ids.npy``).

A query matches the pattern against the vocabulary (exact: binary search; wildcards after a literal
prefix: a range; otherwise bigram postings of the pattern's pieces, then signatures, then the
vectorized weighted edit distance), looks the matching texts up in each segment by binary search, filters by
time/camera/agency on memory-mapped columns, ranks, and decodes only the top hits' payload.
Updates follow the table's data files (:mod:`pipelines.search.delta_files`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import Lakehouse
from pipelines.search import plate_match as pm
from pipelines.search.delta_files import Snapshot, snapshot
from pipelines.search.filters import RowFilter
from pipelines.search.index_dir import ManifestDir, index_location
from pipelines.search.plate_postings import MAX_KEY_LEN, best_per_read, explode_reads

log = logging.getLogger(__name__)

FORMAT = 3  # 3: per-read source-version code (current model version filter)
TABLE = "plate_reads"
#: per posting (sorted by text): the read it belongs to, the text's OCR score, whether it is the best read
POSTING_DTYPE = np.dtype([("rid", "<i4"), ("kscore", "<f2"), ("kbest", "u1"), ("pad", "u1")])
#: per read (row order): what the filters need, in one record
#: ``src``: code of the read's (video_id, model_version) in the segment's ``sources`` list (version filter)
READ_DTYPE = np.dtype([("ts", "<i8"), ("cam", "<i4"), ("agency", "<i4"), ("file", "<i4"), ("src", "<i4")])
PAYLOAD_BATCH = 4096
DEAD_FRACTION_REBUILD = 0.3
#: new texts go to a delta vocabulary until it holds this share of the main one (or DELTA_MIN texts)
DELTA_FRACTION = 0.05
DELTA_MIN = 200_000
#: below this many candidate texts the vocabulary is filtered by signatures, above by bigram postings
BIGRAM_MIN_TEXTS = 50_000
PAYLOAD_COLUMNS = [
    "read_id",
    "plate",
    "ts",
    "camera_id",
    "agency",
    "source_uri",
    "offset_s",
    "confidence",
    "candidates",
    "video_id",
    "model_version",
    "date",
]
_DICT_COLUMNS = ("camera_id", "agency", "source_uri", "video_id", "model_version")


@dataclass
class Match:
    """Matched reads of one segment before ranking."""

    seg: int
    rid: np.ndarray
    score: np.ndarray
    ts: np.ndarray
    dist: np.ndarray
    key: np.ndarray


class _Segment:
    def __init__(self, path: Path):
        self.path = path
        self.meta = json.loads((path / "meta.json").read_text())

    @cached_property
    def keys(self) -> np.ndarray:
        keys: np.ndarray = np.load(self.path / "keys.npy", mmap_mode="r")
        return keys

    @cached_property
    def keys64(self) -> np.ndarray | None:
        p = self.path / "keys64.npy"
        return np.load(p, mmap_mode="r") if p.exists() else None

    def col(self, name: str) -> np.ndarray:
        col: np.ndarray = np.load(self.path / f"{name}.npy", mmap_mode="r")
        return col

    @cached_property
    def payload(self) -> pa.ipc.RecordBatchFileReader:
        return pa.ipc.open_file(pa.memory_map(str(self.path / "payload.arrow")))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posting positions of ``keys`` (sorted S array) and, for each, which key it matched."""
        width = int(self.meta.get("key_width") or self.keys.dtype.itemsize)
        lens = np.char.str_len(keys) if len(keys) else np.zeros(0, int)
        sel = np.flatnonzero(lens <= width)
        if not len(sel):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        q = keys[sel].astype(f"S{width}")
        q64 = pm.keys_as_u64(q) if self.keys64 is not None else None
        hay, needles = (self.keys64, q64) if self.keys64 is not None and q64 is not None else (self.keys, q)
        # (integer compares when the segment has 8-byte keys: far cheaper than bytes)
        lo = np.searchsorted(hay, needles, side="left")
        hi = np.searchsorted(hay, needles, side="right")
        counts = hi - lo
        if counts.sum() == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        which = np.repeat(sel, counts)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        pos = np.arange(counts.sum(), dtype=np.int64) + starts
        return pos, which

    def fetch(self, rids: np.ndarray) -> list[dict[str, Any]]:
        """Payload rows for ``rids`` (in the given order)."""
        batch_rows = int(self.meta["payload_batch"])
        out: dict[int, dict[str, Any]] = {}
        for b in np.unique(rids // batch_rows):
            rb = self.payload.get_batch(int(b))
            local = rids[(rids // batch_rows) == b] - b * batch_rows
            rows = pa.Table.from_batches([rb]).take(pa.array(local)).to_pylist()
            for r, row in zip(local, rows, strict=True):
                out[int(r + b * batch_rows)] = row
        return [out[int(r)] for r in rids]


class PlateIndex(ManifestDir):
    """The plate search index of one lakehouse. Cheap to create; :meth:`update` brings it up to date."""

    FORMAT = FORMAT

    def __init__(self, lh: Lakehouse, root: str | os.PathLike[str] | None = None):
        self.lh = lh
        self.root, self.remote = index_location(lh, "plates", root)

    # ------------------------------------------------------------------ state
    def status(self) -> dict[str, Any]:
        m = self.manifest()
        if m is None:
            return {"exists": False, "path": str(self.root)}
        return {
            "exists": True,
            "path": str(self.root),
            "table_version": m["table_version"],
            "reads": m["reads"],
            "postings": m["postings"],
            "texts": m["vocab_size"],
            "segments": len(m["segments"]),
            "dead_files": len(m["dead_files"]),
            "updated_at": m["updated_at"],
        }

    # ------------------------------------------------------------------ build / update
    def update(self, *, rebuild: bool = False, snap: Snapshot | None = None) -> dict[str, Any]:
        """Index every table file not yet covered, forget files gone from the table, rebuild from
        scratch when asked (or when too many covered files are gone). Returns a summary."""
        # a retry after another writer won starts over from its manifest and a fresh snapshot
        return self._retrying(lambda i: self._update(rebuild=rebuild, snap=snap if i == 0 else None))

    def _update(self, *, rebuild: bool, snap: Snapshot | None) -> dict[str, Any]:
        t0 = time.perf_counter()
        with self._lock():
            snap = snap or snapshot(self.lh, TABLE)
            m = None if rebuild else self.manifest()
            if m is not None and m["table_version"] > snap.version:
                # another writer indexed a newer table version since ``snap`` was read: indexing
                # the older one would mark that writer's files as deleted (a lost update)
                snap = snapshot(self.lh, TABLE)
            if m is not None and m["table_version"] == snap.version and not rebuild:
                return {"action": "current", "table_version": snap.version, "seconds": 0.0}
            if m is not None:
                covered = m["files"]
                gone = [p for p in covered if p not in snap.rows]
                dead = set(m["dead_files"]) | {covered[p] for p in gone}
                if m["reads"] and _dead_rows(m, dead) > DEAD_FRACTION_REBUILD * m["reads"]:
                    m = None
                    action = "rebuilt"
                else:
                    action = "updated"
            else:
                action = "built"
            if m is None:
                m = self._empty_manifest()
                dead = set()
            new = [p for p in snap.rows if p not in m["files"]]
            for path in new:
                m["files"][path] = m["next_file_no"]
                m["file_rows"][str(m["next_file_no"])] = snap.rows[path]
                m["next_file_no"] += 1
            m["dead_files"] = sorted(dead)
            added = self._index_files(m, snap, new)
            m["table_version"] = snap.version
            m["updated_at"] = dt.datetime.now(dt.UTC).isoformat()
            self._write_manifest(m)
            self._cleanup(m)
            return {
                "action": action,
                "table_version": snap.version,
                "files_added": len(new),
                "reads_added": added,
                "dead_files": len(dead),
                "reads": m["reads"],
                "texts": m["vocab_size"],
                "seconds": round(time.perf_counter() - t0, 3),
            }

    def rebuild(self) -> dict[str, Any]:
        return self.update(rebuild=True)

    def _empty_manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "table": TABLE,
            "table_version": -1,
            "files": {},
            "file_rows": {},
            "dead_files": [],
            "next_file_no": 0,
            "segments": [],
            "vocab": None,
            "vocab_delta": None,
            "vocab_size": 0,
            "reads": 0,
            "postings": 0,
            "next_seq": _next_seq(self.root),
            "built_at": dt.datetime.now(dt.UTC).isoformat(),
        }

    def _index_files(self, m: dict[str, Any], snap: Snapshot, paths: list[str]) -> int:
        added = 0
        batch: list[tuple[str, pa.Table]] = []
        rows = 0
        new_vocab: list[tuple[np.ndarray, np.ndarray]] = []
        for path in paths:
            for _, t in snap.read([path], PAYLOAD_COLUMNS):
                batch.append((path, t))
                rows += t.num_rows
            if rows >= self.lh.settings.search.plate_segment_reads:
                added += self._write_segment(m, batch, new_vocab)
                batch, rows = [], 0
        if batch:
            added += self._write_segment(m, batch, new_vocab)
        if new_vocab or m["vocab"] is None:
            self._merge_vocab(m, new_vocab)
        return added

    def _write_segment(
        self,
        m: dict[str, Any],
        parts: list[tuple[str, pa.Table]],
        new_vocab: list[tuple[np.ndarray, np.ndarray]],
    ) -> int:
        tables = [
            t.append_column("__file", pa.array(np.full(t.num_rows, m["files"][p], np.int32)))
            for p, t in parts
        ]
        t = pa.concat_tables(tables).combine_chunks()
        if t.num_rows == 0:
            return 0
        seq = m["next_seq"]
        m["next_seq"] += 1
        name = self._fresh(f"seg-{seq:06d}")
        tmp = self.root / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        post = explode_reads(t["plate"], t["candidates"])
        k64 = pm.keys_as_u64(post.key)
        if k64 is not None:  # texts of <= 8 characters: integer keys are enough
            np.save(tmp / "keys64.npy", k64)
        else:
            np.save(tmp / "keys.npy", post.key)
        postings = np.zeros(len(post), POSTING_DTYPE)
        postings["rid"], postings["kscore"], postings["kbest"] = post.rid, post.score, post.best
        np.save(tmp / "postings.npy", postings)
        del postings
        cams, cam_codes = _codes(t["camera_id"])
        agencies, ag_codes = _codes(t["agency"])
        reads = np.zeros(t.num_rows, READ_DTYPE)
        reads["ts"] = pc.cast(t["ts"], pa.int64()).to_numpy(zero_copy_only=False)
        reads["cam"], reads["agency"], reads["file"] = cam_codes, ag_codes, t["__file"].to_numpy()
        sources, reads["src"] = _codes(
            pc.binary_join_element_wise(
                pc.fill_null(t["video_id"].cast(pa.string()), ""),
                pc.fill_null(t["model_version"].cast(pa.string()), ""),
                SOURCE_SEP,
            )
        )
        np.save(tmp / "reads.npy", reads)
        del reads
        payload = t.drop_columns(["__file"])
        for c in _DICT_COLUMNS:
            i = payload.schema.get_field_index(c)
            payload = payload.set_column(i, c, pc.dictionary_encode(payload[c]).combine_chunks())
        opts = pa.ipc.IpcWriteOptions(compression="zstd")
        with pa.OSFile(str(tmp / "payload.arrow"), "wb") as sink:
            with pa.ipc.new_file(sink, payload.schema, options=opts) as w:
                for b in payload.to_batches(max_chunksize=PAYLOAD_BATCH):
                    w.write_batch(b)
        meta = {
            "key_width": int(post.key.dtype.itemsize),
            "reads": t.num_rows,
            "postings": len(post),
            "payload_batch": PAYLOAD_BATCH,
            "cameras": cams,
            "agencies": agencies,
            "created": dt.datetime.now(dt.UTC).isoformat(),
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        (tmp / "sources.json").write_text(json.dumps(sources))  # read only when a version filter applies
        os.replace(tmp, self.root / name)
        m["segments"].append({"name": name, "reads": t.num_rows, "postings": len(post)})
        m["reads"] += t.num_rows
        m["postings"] += len(post)
        uniq, counts = _unique_sorted(post.key, np.ones(len(post.key), np.int32))
        new_vocab.append((uniq, counts))
        del post, payload, t, tables
        pa.default_memory_pool().release_unused()
        return int(m["segments"][-1]["reads"])

    def _merge_vocab(self, m: dict[str, Any], new: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Fold new segments' texts into the vocabulary. Texts the main vocabulary lacks go to a small
        delta vocabulary (searched beside it), so an incremental update costs time in proportion to
        what is new; the delta is merged into the main one once it passes DELTA_FRACTION of it."""
        new_k, new_c = _concat_unique([k for k, _ in new], [c for _, c in new])
        new.clear()
        if m["vocab"]:
            main = self.root / m["vocab"]
            main_keys = np.load(main / "keys.npy", mmap_mode="r")
            if len(new_k):
                absent = ~_contains(main, main_keys, new_k)
                new_k, new_c = new_k[absent], new_c[absent]
            parts_k, parts_c = [new_k], [new_c]
            if m.get("vocab_delta"):
                d = self.root / m["vocab_delta"]
                parts_k.insert(0, np.load(d / "keys.npy"))
                parts_c.insert(0, np.load(d / "counts.npy"))
            delta_k, delta_c = _concat_unique(parts_k, parts_c)
            if len(delta_k) <= max(DELTA_MIN, DELTA_FRACTION * len(main_keys)):
                m["vocab_delta"] = self._write_vocab(m, delta_k, delta_c) if len(delta_k) else None
                m["vocab_size"] = int(len(main_keys) + len(delta_k))
                return
            keys, counts = _concat_unique(
                [np.load(main / "keys.npy"), delta_k], [np.load(main / "counts.npy"), delta_c]
            )
        else:
            keys, counts = new_k, new_c
        m["vocab"] = self._write_vocab(m, keys, counts)
        m["vocab_delta"] = None
        m["vocab_size"] = int(len(keys))

    def _write_vocab(self, m: dict[str, Any], keys: np.ndarray, counts: np.ndarray) -> str:
        seq = m["next_seq"]
        m["next_seq"] += 1
        name = self._fresh(f"vocab-{seq:06d}")
        tmp = self.root / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        mat, lens = pm.encode(keys) if len(keys) else (np.zeros((0, 1), np.uint8), np.zeros(0, np.int32))
        raw, canon = pm.signatures(mat)
        big_off, big_ids = pm.build_bigram_index(mat)
        np.save(tmp / "big_off.npy", big_off)
        np.save(tmp / "big_ids.npy", big_ids)
        np.save(tmp / "keys.npy", keys)
        k64 = pm.keys_as_u64(keys)
        if k64 is not None:
            np.save(tmp / "keys64.npy", k64)
        np.save(tmp / "counts.npy", counts)
        np.save(tmp / "lens.npy", lens.astype(np.uint8))
        np.save(tmp / "raw.npy", raw)
        np.save(tmp / "canon.npy", canon)
        os.replace(tmp, self.root / name)
        return name

    def _write_manifest(self, m: dict[str, Any]) -> None:
        self._commit_manifest(m)

    def _files(self, m: dict[str, Any]) -> set[str]:
        return {s["name"] for s in m["segments"]} | {v for v in (m["vocab"], m.get("vocab_delta")) if v}

    def _cleanup(self, m: dict[str, Any]) -> None:
        """Remove segments/vocabularies the manifest no longer refers to. A reader that still holds
        the previous manifest gets FileNotFoundError and retries with the new one (files it has
        already mapped stay readable)."""
        keep = {s["name"] for s in m["segments"]} | {m["vocab"], m.get("vocab_delta")}
        for p in self.root.iterdir():
            if p.name.startswith(("seg-", "vocab-", ".tmp-")) and p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)

    # ------------------------------------------------------------------ query
    def match_texts(
        self, p: pm.PlatePattern, m: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary texts within the pattern's budget: (S array, distances), main + delta."""
        m = m or self.manifest()
        if m is None or not m["vocab"]:
            return np.zeros(0, "S1"), np.zeros(0, np.float32)
        found = [self._match_vocab(self.root / v, p) for v in (m["vocab"], m.get("vocab_delta")) if v]
        found = [f for f in found if len(f[0])]
        if not found:
            return np.zeros(0, "S1"), np.zeros(0, np.float32)
        if len(found) == 1:
            return found[0]
        width = max(k.dtype.itemsize for k, _ in found)
        return np.concatenate([k.astype(f"S{width}") for k, _ in found]), np.concatenate(
            [d for _, d in found]
        )

    def _match_vocab(self, vdir: Path, p: pm.PlatePattern) -> tuple[np.ndarray, np.ndarray]:
        keys = np.load(vdir / "keys.npy", mmap_mode="r")
        width = keys.dtype.itemsize
        k64 = np.load(vdir / "keys64.npy", mmap_mode="r") if (vdir / "keys64.npy").exists() else None

        def find(text: str, side: Literal["left", "right"] = "left") -> int:
            q = np.array([text], dtype=keys.dtype)
            q64 = pm.keys_as_u64(q) if k64 is not None else None
            if k64 is not None and q64 is not None:
                return int(np.searchsorted(k64, q64[0], side=side))
            return int(np.searchsorted(keys, q[0], side=side))

        if p.is_exact:
            if len(p.text) > width:
                return np.zeros(0, "S1"), np.zeros(0, np.float32)
            i = find(p.text)
            if i < len(keys) and keys[i] == p.text.encode():
                return np.array([keys[i]]), np.zeros(1, np.float32)
            return np.zeros(0, "S1"), np.zeros(0, np.float32)
        lo, hi = 0, len(keys)
        prefix = p.prefix()
        if prefix and p.raw_budget == 0:
            # wildcards only, starting with letters/digits: a range of the sorted texts
            if len(prefix) > width:
                return np.zeros(0, "S1"), np.zeros(0, np.float32)
            lo = find(prefix)
            hi = find(prefix[:-1] + chr(ord(prefix[-1]) + 1))
        if hi <= lo:
            return np.zeros(0, "S1"), np.zeros(0, np.float32)
        lens = np.load(vdir / "lens.npy", mmap_mode="r")
        cand = None
        if hi - lo > BIGRAM_MIN_TEXTS:
            # confusion-class bigram postings: texts holding the pattern's pieces (pigeonhole)
            cand = pm.bigram_candidates(
                p, np.load(vdir / "big_off.npy"), np.load(vdir / "big_ids.npy", mmap_mode="r")
            )
            if cand is not None:
                cand = cand[(cand >= lo) & (cand < hi)].astype(np.int64)
                lw, hw = p.length_window()
                cl = lens[cand]
                cand = cand[(cl >= lw) & ((cl <= hw) if hw is not None else True)]
        if cand is None:
            raw = np.load(vdir / "raw.npy", mmap_mode="r")[lo:hi]
            canon = np.load(vdir / "canon.npy", mmap_mode="r")[lo:hi]
            cand = np.flatnonzero(pm.prefilter_mask(p, raw, canon, lens[lo:hi])) + lo
        if not len(cand):
            return np.zeros(0, "S1"), np.zeros(0, np.float32)
        sub = np.asarray(keys[cand])
        mat, sl = pm.encode(sub)
        d = pm.verify(p, mat, sl)
        ok = d <= p.fuzzy + pm.EPS
        return sub[ok], d[ok]

    def search(
        self, p: pm.PlatePattern, flt: RowFilter, limit: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Ranked hits (at most ``limit``; None = all) and the total number of matching reads."""
        for attempt in range(2):
            m = self.manifest()
            if m is None:
                return [], 0
            try:
                return self._search(m, p, flt, limit)
            except FileNotFoundError:  # a concurrent rebuild replaced the segments: reload
                if attempt:
                    raise
        return [], 0

    def _search(
        self, m: dict[str, Any], p: pm.PlatePattern, flt: RowFilter, limit: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        keys, kdist = self.match_texts(p, m)
        if not len(keys) or flt.nothing:
            return [], 0
        dead = np.array(m["dead_files"], dtype=np.int32)
        matches: list[Match] = []
        segs = [_Segment(self.root / s["name"]) for s in m["segments"]]
        for si, seg in enumerate(segs):
            pos, which = seg.lookup(keys)
            if not len(pos):
                continue
            post = np.asarray(seg.col("postings")[pos])  # one record per posting: one page touch
            rid = post["rid"].astype(np.int64)
            best = post["kbest"].astype(bool)
            kscore = post["kscore"].astype(np.float32)
            d = kdist[which]
            rec = np.asarray(seg.col("reads")[rid])
            ts = rec["ts"]
            keep = self._filter(seg, flt, rec, dead)
            if not keep.all():
                rid, best, kscore, d, ts, which = (
                    rid[keep],
                    best[keep],
                    kscore[keep],
                    d[keep],
                    ts[keep],
                    which[keep],
                )
            if not len(rid):
                continue
            score = pm.match_score(d, p.fuzzy, best, kscore)
            rid, score, ts, d, which = best_per_read(rid, score, ts, d, which)
            matches.append(Match(si, rid, score, ts, d, keys[which]))
        if not matches:
            return [], 0
        seg_no = np.concatenate([np.full(len(x.rid), x.seg) for x in matches])
        rid = np.concatenate([x.rid for x in matches])
        score = np.concatenate([x.score for x in matches])
        ts = np.concatenate([x.ts for x in matches])
        d = np.concatenate([x.dist for x in matches])
        key = np.concatenate([x.key.astype(f"S{MAX_KEY_LEN}") for x in matches])
        total = len(rid)
        rscore = np.round(score, 6)
        order = np.lexsort((rid, seg_no, -ts, -rscore))
        if limit:
            order = order[:limit]
        hits: list[dict[str, Any] | None] = [None] * len(order)
        for si in np.unique(seg_no[order]):
            idx = np.flatnonzero(seg_no[order] == si)
            rows = segs[int(si)].fetch(rid[order[idx]])
            for j, row in zip(idx, rows, strict=True):
                o = order[j]
                row["match_score"] = round(float(score[o]), 4)
                row["distance"] = round(float(d[o]), 3)
                row["matched_text"] = key[o].decode()
                hits[j] = row
        return [h for h in hits if h is not None], total

    def _filter(self, seg: _Segment, flt: RowFilter, rec: np.ndarray, dead: np.ndarray) -> np.ndarray:
        ts = rec["ts"]
        keep = np.ones(len(rec), bool)
        if len(dead):
            keep &= ~np.isin(rec["file"], dead)
        if flt.start is not None:
            keep &= ts >= flt.start_us
        if flt.end is not None:
            keep &= ts < flt.end_us
        if flt.cameras is not None or flt.scope is not None:
            cams = np.array(seg.meta["cameras"], dtype=object)
            cam = rec["cam"]
            if flt.cameras is not None:
                ok_codes = np.flatnonzero(np.isin(cams, list(flt.cameras)))
                keep &= np.isin(cam, ok_codes)
            if flt.scope is not None:  # visibility is decided by the scope itself (CameraScope.mask)
                ags = np.array(list(seg.meta["agencies"]) + [None], dtype=object)  # code -1: no agency
                cam_vals = np.append(cams, np.array([None], dtype=object))[np.where(cam < 0, len(cams), cam)]
                ag_codes = rec["agency"]
                keep &= flt.scope.mask(cam_vals, ags[np.where(ag_codes < 0, len(ags) - 1, ag_codes)])
        vf = getattr(flt, "versions", None)
        if vf is not None and not vf.empty:
            keep &= version_keep(seg, vf, rec["src"])
        return keep


SOURCE_SEP = "\x1f"
_SOURCE_CODES: dict[str, dict[str, int]] = {}  # segment path -> {video_id SEP model_version: code}
_HIDDEN_CODES: dict[tuple[str, Any], np.ndarray] = {}  # (segment path, hidden pairs) -> their codes


def version_keep(seg: _Segment, vf: Any, src: np.ndarray) -> np.ndarray:
    """Reads of a segment that the version filter (:class:`pipelines.versions.VersionFilter`) lets
    through, from their source-version codes. Only the hidden pairs are looked up (few), so the cost
    is one ``isin`` over the matched reads."""
    key = str(seg.path)
    codes = _SOURCE_CODES.get(key)
    if codes is None:
        try:
            sources = json.loads((seg.path / "sources.json").read_text())
        except FileNotFoundError:
            sources = []
        codes = {k: i for i, k in enumerate(sources)}
        if len(_SOURCE_CODES) > 256:
            _SOURCE_CODES.clear()
        _SOURCE_CODES[key] = codes
    if vf.pinned is not None:
        suffix = SOURCE_SEP + vf.pinned
        ok = np.array([c for k, c in codes.items() if k.endswith(suffix)], np.int32)
        return np.isin(src, ok)
    ck = (key, vf.hidden)
    hidden = _HIDDEN_CODES.get(ck)
    if hidden is None:
        hidden = np.array(sorted(codes[k] for k in vf.hidden_keys(SOURCE_SEP) if k in codes), np.int32)
        if len(_HIDDEN_CODES) > 256:
            _HIDDEN_CODES.clear()
        _HIDDEN_CODES[ck] = hidden
    return ~np.isin(src, hidden) if len(hidden) else np.ones(len(src), bool)


def _concat_unique(keys: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    keys = [k for k in keys if len(k)]
    counts = [c for c in counts if len(c)]
    if not keys:
        return np.zeros(0, "S1"), np.zeros(0, np.int32)
    width = max(k.dtype.itemsize for k in keys)
    allk = np.concatenate([k.astype(f"S{width}") for k in keys])
    allc = np.concatenate(counts).astype(np.int32)
    order = np.argsort(allk, kind="stable")  # sorted runs: timsort merges them
    return _unique_sorted(allk[order], allc[order])


def _contains(vdir: Path, keys: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Which of the texts ``q`` the vocabulary in ``vdir`` (sorted ``keys``) holds."""
    width = keys.dtype.itemsize
    out = np.zeros(len(q), bool)
    fits = np.flatnonzero(np.char.str_len(q) <= width)
    if not len(fits) or not len(keys):
        return out
    qq = q[fits].astype(keys.dtype)
    p64 = vdir / "keys64.npy"
    q64 = pm.keys_as_u64(qq) if p64.exists() else None
    hay, needles = (np.load(p64, mmap_mode="r"), q64) if q64 is not None else (keys, qq)
    i = np.searchsorted(hay, needles)
    i[i == len(hay)] = len(hay) - 1
    out[fits] = np.asarray(hay[i]) == needles
    return out


def _unique_sorted(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse equal neighbours of sorted ``keys``, summing their ``counts``."""
    if len(keys) == 0:
        return keys, counts
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
        order = np.argsort(keys, kind="stable")
        keys, counts = keys[order], counts[order]
    new = np.ones(len(keys), bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    return keys[starts], np.add.reduceat(counts, starts)


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[list[str | None], np.ndarray]:
    """Dictionary-encode a string column: (values, int32 codes; -1 for null)."""
    enc = pc.dictionary_encode(col)
    enc = enc.combine_chunks() if isinstance(enc, pa.ChunkedArray) else enc
    values = enc.dictionary.to_pylist()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pc.is_null(enc.indices).to_numpy(zero_copy_only=False), -1, codes).astype(np.int32)
    return values, codes


def _dead_rows(m: dict[str, Any], dead: set[int]) -> int:
    return sum(int(m["file_rows"].get(str(f), 0)) for f in dead)


def _next_seq(root: Path) -> int:
    seqs = [0]
    if root.exists():
        for p in root.iterdir():
            for prefix in ("seg-", "vocab-"):
                if p.name.startswith(prefix):
                    with contextlib.suppress(ValueError):
                        seqs.append(int(p.name[len(prefix) :]) + 1)
    return max(seqs)
