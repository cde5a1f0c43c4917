"""FAISS index over ``face_sightings`` embeddings: every face with an embedding, whatever its
quality (a blurred 30-px face of a person seen once is still found; quality ranks and filters the
hits, ``min_quality``, instead of hiding the face; ``searchable=False`` only marks a face under the
quality floor). Format 2: format-1 indexes left low-quality faces out and are rebuilt.

Persisted under ``HOME/index/faces``: ``manifest.json`` (table version and data files covered,
index kind, sizes), ``index-NNNNNN.faiss`` and ``meta-NNNNNN.parquet`` (one row per FAISS id:
sighting id, time, camera, agency, source, offset, quality, the data file it came from). With the
tables on object storage the index is shared there and this directory is its cache
(:mod:`pipelines.search.index_dir`).

- **Kinds.** ``flat`` (exact: ``IndexIDMap2(IndexFlatL2)``) below ``exact_below`` vectors
  (setting ``search.face_index_exact_below``, default 100,000); above it ``hnsw`` (default:
  ``IndexHNSWFlat``, M=32, ``efSearch`` from ``search.face_ef_search``, default 64) or, with
  ``search.face_index_kind: ivf``, ``IndexIVFFlat`` (nlist ~ 4 sqrt(n), ``search.face_nprobe``,
  default 24). HNSW gives the better recall per query time one query at a time (see
  benchmarks/results/search_faces.md).
- **Incremental.** :meth:`FaceIndex.update` adds the rows of table files not covered yet and drops
  the rows of files gone from the table (deletes, retention, re-processing, compaction): removed
  from flat/IVF indexes, tombstoned in HNSW graphs (skipped at search; the graph is rebuilt when a
  fifth of it is tombstones). It rebuilds when the kind must change or an IVF grew 4x past its
  training set. :meth:`FaceIndex.rebuild` starts over from the table.
- **Device.** FAISS GPU (``faiss.get_num_gpus() > 0``) serves unfiltered searches; CPU otherwise
  and for filtered ones.
- **Score.** FAISS returns squared L2; a hit's ``distance`` is the L2 distance between the dlib
  descriptors (same person typically <= 0.5) and ``score = 1 / (1 + distance)`` (1 = identical,
  higher is more similar; 0.6 distance -> 0.625).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse import Lakehouse
from pipelines.search.delta_files import Snapshot, snapshot
from pipelines.search.filters import RowFilter
from pipelines.search.index_dir import ManifestDir, index_location

log = logging.getLogger(__name__)

FORMAT = 2
TABLE = "face_sightings"
DIM = 128
META_COLUMNS = [
    "sighting_id",
    "ts",
    "date",
    "camera_id",
    "agency",
    "source_uri",
    "offset_s",
    "quality",
    "video_id",
    "model_version",
]
#: filtered searches over at most this many allowed vectors are exact (brute force on them)
EXACT_FILTER_MAX = 200_000
#: IVF k-means training points per list
TRAIN_PER_LIST = 64
#: the last loaded index per index directory, shared by FaceIndex instances of this process
_PROCESS_CACHE: dict[str, tuple[str, Any, pa.Table, np.ndarray, dict[str, np.ndarray]]] = {}
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
#: rebuild an HNSW graph when this share of its nodes are tombstones
DEAD_FRACTION_REBUILD = 0.2


def _faiss() -> Any:
    """The FAISS module (typed as Any: its SWIG bindings carry no usable annotations)."""
    import importlib

    return importlib.import_module("faiss")


def distance_to_score(distance: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.asarray(distance, dtype=np.float64))


class FaceIndex(ManifestDir):
    """The face index of one lakehouse."""

    FORMAT = FORMAT

    def __init__(
        self,
        lh: Lakehouse,
        root: str | os.PathLike[str] | None = None,
        *,
        exact_below: int | None = None,
        kind: str | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        use_gpu: bool | None = None,
    ):
        self.lh = lh
        self.root, self.remote = index_location(lh, "faces", root)
        conf = lh.settings.search
        self.exact_below = exact_below if exact_below is not None else conf.face_index_exact_below
        self.ann_kind = (kind or conf.face_index_kind).lower()
        if self.ann_kind not in ("ivf", "hnsw"):
            raise ValueError(f"approximate index kind must be ivf or hnsw, got {self.ann_kind!r}")
        self.nprobe = nprobe if nprobe is not None else conf.face_nprobe
        self.ef_search = ef_search if ef_search is not None else conf.face_ef_search
        self.use_gpu = use_gpu
        self._loaded: tuple[str, Any, pa.Table, np.ndarray, dict[str, np.ndarray]] | None = None
        self._gpu_index: tuple[str, Any] | None = None

    @classmethod
    def for_home(cls, home: str | os.PathLike[str] | None = None, **kwargs: Any) -> FaceIndex:
        """The face index of the lakehouse at ``home`` (``--home``)."""
        return cls(Lakehouse(home=home), **kwargs)

    # ------------------------------------------------------------------ state
    @property
    def size(self) -> int:
        """Vectors in the index (0 when it does not exist)."""
        m = self.manifest()
        return int(m["ntotal"]) if m else 0

    def status(self) -> dict[str, Any]:
        m = self.manifest()
        if m is None:
            return {"exists": False, "path": str(self.root)}
        return {
            "exists": True,
            "path": str(self.root),
            "table_version": m["table_version"],
            "kind": m["kind"],
            "vectors": m["ntotal"],
            "tombstones": m.get("dead", 0),
            "files": len(m["files"]),
            "updated_at": m["updated_at"],
            "gpu": self._gpu_wanted(),
        }

    def _gpu_wanted(self) -> bool:
        if self.use_gpu is False:
            return False
        faiss = _faiss()

        return hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0

    # ------------------------------------------------------------------ build / update
    def build(self) -> dict[str, Any]:
        """Create the index if missing, else bring it up to date."""
        return self.update()

    def update(
        self, lh: Lakehouse | None = None, *, rebuild: bool = False, snap: Snapshot | None = None
    ) -> dict[str, Any]:
        """Bring the index up to date with the table (see module doc). Returns a summary.
        (``lh``, optional, must be the lakehouse this index belongs to.)"""
        if lh is not None and lh.storage.root != self.lh.storage.root:
            raise ValueError(f"this face index belongs to {self.lh!r}, not {lh!r}")
        # a retry after another writer won starts over from its manifest and a fresh snapshot
        return self._retrying(lambda i: self._update(rebuild=rebuild, snap=snap if i == 0 else None))

    def _update(self, *, rebuild: bool, snap: Snapshot | None) -> dict[str, Any]:
        faiss = _faiss()
        t0 = time.perf_counter()
        with self._lock():
            snap = snap or snapshot(self.lh, TABLE)
            m = None if rebuild else self.manifest()
            if m is not None and m["table_version"] > snap.version:
                # another writer indexed a newer table version since ``snap`` was read: indexing
                # the older one would mark that writer's files as deleted (a lost update)
                snap = snapshot(self.lh, TABLE)
            if m is not None and m["table_version"] == snap.version:
                return {
                    "action": "current",
                    "table_version": snap.version,
                    "vectors": m["ntotal"],
                    "seconds": 0.0,
                }
            if m is None:
                index, meta, m, action = None, _empty_meta(), self._empty_manifest(), "built"
            else:
                index = faiss.read_index(str(self.root / m["index_file"]))
                meta = pq.read_table(self.root / m["meta_file"])
                action = "updated"
            dead = self._dead(m) if index is not None else np.zeros(0, np.int64)
            gone = [p for p in m["files"] if p not in snap.rows]
            if gone and index is not None:
                gone_nos = pa.array([m["files"][p] for p in gone], pa.int32())
                drop = pc.is_in(meta["file_no"], value_set=gone_nos)
                ids = meta.filter(drop)["id"].to_numpy().astype(np.int64)
                if len(ids):
                    if m["kind"] == "hnsw":  # HNSW cannot remove: tombstones, skipped at search
                        dead = np.union1d(dead, ids)
                    else:
                        _remove(index, m["kind"], ids)
                meta = meta.filter(pc.invert(drop))
                for p in gone:
                    del m["files"][p]
            new = [p for p in snap.rows if p not in m["files"]]
            for p in new:
                m["files"][p] = m["next_file_no"]
                m["next_file_no"] += 1
            vecs, rows = self._read(snap, new, m)
            total = meta.num_rows + len(vecs)
            want = "flat" if total < self.exact_below else self.ann_kind
            if index is not None and (
                want != m["kind"]
                or (m["kind"] == "ivf" and total > 4 * max(m["trained_on"], 1))
                or len(dead) > DEAD_FRACTION_REBUILD * max(index.ntotal, 1)
            ):
                # change of kind, the IVF outgrew its training, or too many tombstones: rebuild
                old_vecs = _reconstruct(index, meta["id"].to_numpy().astype(np.int64))
                vecs = np.vstack([old_vecs, vecs]) if len(vecs) else old_vecs
                rows = (
                    pa.concat_tables([meta.drop_columns(["id"]), rows])
                    if rows.num_rows
                    else meta.drop_columns(["id"])
                )
                index, meta, m["next_id"], dead = None, _empty_meta(), 0, np.zeros(0, np.int64)
                action = "rebuilt" if action == "updated" else action
            if index is None:
                index, m["kind"], m["trained_on"] = self._new_index(vecs, want)
                m["nlist"] = int(index.nlist) if m["kind"] == "ivf" else None
            if len(vecs):
                ids = np.arange(m["next_id"], m["next_id"] + len(vecs), dtype=np.int64)
                m["next_id"] += len(vecs)
                index.add_with_ids(vecs, ids)
                meta = pa.concat_tables([meta, rows.add_column(0, "id", pa.array(ids))])
            seq = _next_seq(self.root)
            m["index_file"] = self._fresh(f"index-{seq:06d}", ".faiss")
            m["meta_file"] = self._fresh(f"meta-{seq:06d}", ".parquet")
            faiss.write_index(index, str(self.root / m["index_file"]))
            pq.write_table(meta, self.root / m["meta_file"])
            m["dead_file"] = None
            if len(dead):
                m["dead_file"] = self._fresh(f"dead-{seq:06d}", ".npy")
                np.save(self.root / m["dead_file"], dead)
            m["dead"] = int(len(dead))
            m["ntotal"] = int(meta.num_rows)
            m["table_version"] = snap.version
            m["updated_at"] = dt.datetime.now(dt.UTC).isoformat()
            self._commit_manifest(m)
            self._cleanup(m)
            self._loaded = None
            return {
                "action": action,
                "table_version": snap.version,
                "kind": m["kind"],
                "vectors": m["ntotal"],
                "files_added": len(new),
                "files_removed": len(gone),
                "vectors_added": len(vecs),
                "seconds": round(time.perf_counter() - t0, 3),
            }

    def rebuild(self) -> dict[str, Any]:
        return self.update(rebuild=True)

    def _dead(self, m: dict[str, Any]) -> np.ndarray:
        """Ids still in an HNSW graph whose rows are gone (tombstones)."""
        if not m.get("dead_file"):
            return np.zeros(0, np.int64)
        dead: np.ndarray = np.load(self.root / m["dead_file"])
        return dead

    def _empty_manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "table": TABLE,
            "table_version": -1,
            "dim": DIM,
            "kind": None,
            "nlist": None,
            "trained_on": 0,
            "files": {},
            "next_file_no": 0,
            "next_id": 0,
            "ntotal": 0,
            "index_file": None,
            "meta_file": None,
            "built_at": dt.datetime.now(dt.UTC).isoformat(),
        }

    def _read(self, snap: Snapshot, paths: list[str], m: dict[str, Any]) -> tuple[np.ndarray, pa.Table]:
        """Rows of ``paths`` (every quality): (float32 vectors n x DIM, metadata rows with file_no)."""
        vec_parts, meta_parts = [], []
        for path, t in snap.read(paths, META_COLUMNS + ["embedding"]):
            if t.num_rows == 0:
                continue
            emb = t["embedding"]
            ok = pc.and_(pc.is_valid(emb), pc.equal(pc.list_value_length(emb), DIM))
            ok = pc.fill_null(ok, False)
            if not pc.all(ok).as_py():
                log.warning(
                    "%s: %d sightings without a %d-d embedding skipped",
                    path,
                    t.num_rows - pc.sum(ok).as_py(),
                    DIM,
                )
                t = t.filter(ok)
            flat = pc.list_flatten(t["embedding"]).to_numpy(zero_copy_only=False).astype(np.float32)
            vec_parts.append(flat.reshape(-1, DIM))
            meta_parts.append(
                t.drop_columns(["embedding"]).append_column(
                    "file_no", pa.array(np.full(t.num_rows, m["files"][path], np.int32))
                )
            )
        if not vec_parts:
            return np.zeros((0, DIM), np.float32), _empty_meta().drop_columns(["id"])
        rows = pa.concat_tables(meta_parts)
        rows = rows.cast(_empty_meta().drop_columns(["id"]).schema)
        return np.ascontiguousarray(np.vstack(vec_parts)), rows

    def _new_index(self, vecs: np.ndarray, kind: str) -> tuple[Any, str, int]:
        faiss = _faiss()

        n = len(vecs)
        if kind == "flat" or n == 0:
            return faiss.IndexIDMap2(faiss.IndexFlatL2(DIM)), "flat", n
        if kind == "hnsw":
            h = faiss.IndexHNSWFlat(DIM, HNSW_M)
            h.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            return faiss.IndexIDMap2(h), "hnsw", n
        nlist = int(min(65536, max(64, 2 ** round(math.log2(4 * math.sqrt(n))))))
        nlist = min(nlist, max(1, n // 39))  # FAISS wants >= 39 training points per list
        quantizer = faiss.IndexFlatL2(DIM)
        ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist)
        train = vecs
        if n > TRAIN_PER_LIST * nlist:  # k-means on a sample: plenty for centroids, minutes saved
            rng = np.random.default_rng(0)
            train = vecs[np.sort(rng.choice(n, TRAIN_PER_LIST * nlist, replace=False))]
        ivf.train(train)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.nprobe = self.nprobe
        return ivf, "ivf", n

    def _files(self, m: dict[str, Any]) -> set[str]:
        return {str(m[k]) for k in ("index_file", "meta_file", "dead_file") if m.get(k)}

    def _cleanup(self, m: dict[str, Any]) -> None:
        keep = {m["index_file"], m["meta_file"], m.get("dead_file")}
        for p in self.root.iterdir():
            if p.name.startswith(("index-", "meta-", "dead-")) and p.name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    # ------------------------------------------------------------------ search
    def load(self) -> tuple[dict[str, Any], Any, pa.Table]:
        """(manifest, FAISS index, metadata) of the current version (cached per instance)."""
        faiss = _faiss()

        m = self.manifest()
        if m is None or not m["index_file"]:
            raise FileNotFoundError(f"no face index at {self.root}: run `pesquisa faces index`")
        if self._loaded is None or self._loaded[0] != m["index_file"]:
            key = str(self.root.resolve())
            cached = _PROCESS_CACHE.get(key)
            if cached is not None and cached[0] == m["index_file"]:
                self._loaded = cached
            else:
                index = faiss.read_index(str(self.root / m["index_file"]))
                meta = pq.read_table(self.root / m["meta_file"]).combine_chunks()
                cols = {  # what filters need, as arrays, once per load
                    "id": meta["id"].to_numpy(),
                    "ts": pc.cast(meta["ts"], pa.int64()).to_numpy(zero_copy_only=False),
                    "camera_id": meta["camera_id"].to_numpy(zero_copy_only=False),
                    "agency": meta["agency"].to_numpy(zero_copy_only=False),
                    "quality": pc.fill_null(meta["quality"], 0.0).to_numpy(zero_copy_only=False),
                    "video_id": meta["video_id"].to_numpy(zero_copy_only=False),
                    "model_version": meta["model_version"].to_numpy(zero_copy_only=False),
                }
                self._loaded = (m["index_file"], index, meta, self._dead(m), cols)
                _PROCESS_CACHE[key] = self._loaded
            if m["kind"] == "ivf":
                faiss.extract_index_ivf(self._loaded[1]).nprobe = self.nprobe
            elif m["kind"] == "hnsw":
                faiss.downcast_index(self._loaded[1].index).hnsw.efSearch = self.ef_search
        return m, self._loaded[1], self._loaded[2]

    def search(
        self, embedding: np.ndarray, k: int, flt: RowFilter | None = None, min_quality: float | None = None
    ) -> list[dict[str, Any]]:
        """Top-``k`` sightings nearest ``embedding`` that pass ``flt`` and have at least
        ``min_quality`` (None: any quality), best first."""
        for attempt in range(2):
            try:
                m, index, meta = self.load()
                return self._search(m, index, meta, embedding, k, flt, min_quality)
            except FileNotFoundError:
                if attempt or not self.exists():
                    raise
                self._loaded = None
        return []

    def _search(
        self,
        m: dict[str, Any],
        index: Any,
        meta: pa.Table,
        embedding: np.ndarray,
        k: int,
        flt: RowFilter | None,
        min_quality: float | None = None,
    ) -> list[dict[str, Any]]:
        faiss = _faiss()

        q = np.ascontiguousarray(np.asarray(embedding, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != DIM:
            raise ValueError(f"embedding has {q.shape[1]} dimensions, the index {DIM}")
        if meta.num_rows == 0 or k <= 0:
            return []
        versions = getattr(flt, "versions", None)
        versions = None if versions is None or versions.empty else versions
        by_quality = min_quality is not None and min_quality > 0
        restricted = by_quality or (
            flt is not None
            and bool(
                flt.start
                or flt.end
                or flt.cameras is not None
                or flt.scope is not None
                or versions is not None
            )
        )
        cols = self._loaded[4] if self._loaded is not None else {"id": meta["id"].to_numpy()}
        ids_all = cols["id"]
        if not restricted:
            kk = min(k, meta.num_rows)
            dead = self._loaded[3] if self._loaded is not None else np.zeros(0, np.int64)
            with _single_thread(m["kind"] != "flat"):
                if len(dead):  # HNSW tombstones
                    params = faiss.SearchParameters(sel=faiss.IDSelectorNot(faiss.IDSelectorBatch(dead)))
                    dists, ids = index.search(q, kk, params=params)
                else:
                    dists, ids = self._index_for_search(m, index).search(q, kk)
        else:
            flt = flt or RowFilter()
            if flt.nothing:
                return []
            keep = flt.mask(cols["ts"], cols["camera_id"], cols["agency"])
            if versions is not None:  # only each source's current model version (pipelines/versions.py)
                keep &= versions.mask(cols["video_id"], cols["model_version"])
            if by_quality and min_quality is not None:  # quality filters, never hides by default
                quality: np.ndarray | None = cols.get("quality")
                if quality is None:
                    quality = np.asarray(pc.fill_null(meta["quality"], 0.0).to_numpy(zero_copy_only=False))
                keep &= quality >= float(min_quality)
            allowed = ids_all[keep].astype(np.int64)
            if not len(allowed):
                return []
            kk = min(k, len(allowed))
            if m["kind"] == "flat" or len(allowed) <= EXACT_FILTER_MAX:
                if m["kind"] == "flat":
                    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
                    dists, ids = index.search(q, kk, params=params)
                else:
                    xb = _reconstruct(index, allowed)
                    dists, pos = faiss.knn(q, xb, kk)
                    ids = np.where(pos >= 0, allowed[np.clip(pos, 0, None)], -1)
            elif m["kind"] == "ivf":
                params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allowed), nprobe=self.nprobe)
                with _single_thread(True):
                    dists, ids = index.search(q, kk, params=params)
            else:  # hnsw: widen k until enough allowed ids come back
                allowed_set = set(allowed.tolist())
                want = kk * 4
                while True:
                    with _single_thread(True):
                        dists, ids = index.search(q, min(want, index.ntotal))
                    keep = np.array([i in allowed_set for i in ids[0]])
                    if keep.sum() >= kk or want >= index.ntotal:
                        dists, ids = dists[:, keep][:, :kk], ids[:, keep][:, :kk]
                        break
                    want *= 4
        dists, ids = dists[0], ids[0]
        valid = ids >= 0
        dists, ids = dists[valid], ids[valid]
        if not len(ids):
            return []
        pos = np.searchsorted(ids_all, ids)  # meta is in id order
        rows = meta.take(pa.array(pos)).drop_columns(["file_no"]).to_pylist()
        out = []
        for row, d2 in zip(rows, dists, strict=True):
            dist = math.sqrt(max(float(d2), 0.0))
            row.pop("id", None)
            row["distance"] = round(dist, 4)
            row["score"] = round(float(distance_to_score(dist)), 4)
            out.append(row)
        out.sort(key=lambda r: (-r["score"], -r["ts"].timestamp() if r["ts"] else 0, r["sighting_id"]))
        return out

    def _index_for_search(self, m: dict[str, Any], index: Any) -> Any:
        if not self._gpu_wanted() or m["kind"] == "hnsw":
            return index
        faiss = _faiss()

        if self._gpu_index is None or self._gpu_index[0] != m["index_file"]:
            try:
                self._gpu_index = (m["index_file"], faiss.index_cpu_to_all_gpus(index))
            except Exception as exc:  # an index type the GPU build cannot take: stay on CPU
                log.warning("FAISS GPU unavailable for this index (%s); searching on CPU", exc)
                self.use_gpu = False
                return index
        return self._gpu_index[1]


@contextlib.contextmanager
def _single_thread(on: bool) -> Iterator[None]:
    """One OpenMP thread for a single approximate query: graph walks and a few inverted lists do not
    parallelize, and thread hand-offs cost more than the search (7 ms vs 0.7 ms for HNSW on a busy
    2-core machine). Exact scans keep every thread."""
    if not on:
        yield
        return
    faiss = _faiss()

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _empty_meta() -> pa.Table:
    from lakehouse.specs import FACE_SIGHTINGS

    fields = [pa.field("id", pa.int64())]
    fields += [FACE_SIGHTINGS.schema.field(c) for c in META_COLUMNS]
    fields.append(pa.field("file_no", pa.int32()))
    return pa.schema(fields).empty_table()


def _remove(index: Any, kind: str, ids: np.ndarray) -> None:
    faiss = _faiss()

    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if kind == "ivf":
        index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
    else:
        index.remove_ids(faiss.IDSelectorBatch(ids))


def _reconstruct(index: Any, ids: np.ndarray) -> np.ndarray:
    if len(ids) == 0:
        return np.zeros((0, DIM), np.float32)
    return np.ascontiguousarray(
        index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64)), dtype=np.float32
    )


def _next_seq(root: Path) -> int:
    seqs = [0]
    for p in root.iterdir():
        for prefix in ("index-", "meta-", "dead-"):
            if p.name.startswith(prefix):
                with contextlib.suppress(ValueError):
                    seqs.append(int(p.name[len(prefix) :].split(".")[0].split("-")[0]) + 1)
    return max(seqs)
