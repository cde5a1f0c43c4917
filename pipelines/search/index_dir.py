"""What the persisted search indexes share: a directory of immutable files plus a versioned
``manifest.json`` naming the current ones, and the rule for replacing that manifest.

- **Local** (the tables on this machine): the directory is ``HOME/index/<kind>``; one process at a
  time updates it (``fcntl`` lock), and the manifest is replaced by an atomic rename.
- **Shared** (the tables on object storage, DESIGN.md §10): the index lives at
  ``<tables_uri>/_index/<kind>`` (setting ``storage.index_uri``) and ``HOME/index/<kind>`` is this
  machine's cache of it. A reader GETs the manifest and fetches the files it names that the cache
  lacks (files are immutable, so a cached file is never stale). A writer builds its new files in the
  cache under names carrying a per-attempt token, uploads them create-only, then replaces the
  manifest with a conditional PUT (``If-Match`` the etag it started from, or ``If-None-Match: *``
  for the first one). Of two concurrent writers exactly one wins; the loser deletes what it uploaded
  and retries from the winner's manifest (``storage.index_commit_attempts`` tries, then
  :class:`IndexConflict`). No update is ever lost or half-visible.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from lakehouse import Lakehouse
from lakehouse.object_store import ObjectConflict, ObjectDir, is_object_uri

T = TypeVar("T")
MANIFEST = "manifest.json"
#: objects no manifest names (left by a writer that died mid-update) are deleted after this age
ORPHAN_GRACE_S = 3600.0


class IndexConflict(RuntimeError):
    """Another writer kept committing the shared index first; nothing of this update is visible."""


def index_location(
    lh: Lakehouse, kind: str, root: str | os.PathLike[str] | None = None
) -> tuple[Path, ObjectDir | None]:
    """(local directory, shared object-store directory or None) of the ``kind`` index. An explicit
    ``root`` is a private local index (tests, benchmarks)."""
    from pipelines.search.delta_files import index_dir

    if root is not None:
        return Path(root), None
    local = index_dir(lh, kind)
    conf = lh.settings.storage
    uri = conf.index_uri
    if uri is None and not lh.storage.is_local:
        uri = f"{lh.storage.root.rstrip('/')}/_index"
    if uri is None or uri.strip().lower() == "local":
        return local, None
    if not is_object_uri(uri):
        raise ValueError(f"storage.index_uri must be an s3:// URI or 'local', got {uri!r}")
    return local, ObjectDir(f"{uri.rstrip('/')}/{kind}", lh.storage.storage_options)


class ManifestDir:
    """Base for an index kept under ``self.root`` (and shared at ``self.remote`` when set).
    Subclasses set ``FORMAT`` (a manifest written by another on-disk format counts as no index: it
    gets rebuilt), name their files with :meth:`_fresh`, list a manifest's files in :meth:`_files`,
    commit with :meth:`_commit_manifest` inside :meth:`_lock`, and wrap updates in :meth:`_retrying`."""

    FORMAT: ClassVar[int]
    root: Path
    remote: ObjectDir | None = None
    lh: Lakehouse
    _token: str = ""
    _base: tuple[str | None, set[str]] = (None, set())

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def _files(self, m: dict[str, Any]) -> set[str]:
        """Names of the files and folders (relative to ``root``) that manifest ``m`` refers to."""
        raise NotImplementedError

    def _fresh(self, stem: str, suffix: str = "") -> str:
        """The name of a new immutable file: unique per writer attempt when the index is shared."""
        return (
            f"{stem}-{self._token}{suffix}" if self.remote is not None and self._token else f"{stem}{suffix}"
        )

    # ------------------------------------------------------------------ read
    def manifest(self) -> dict[str, Any] | None:
        if self.remote is None:
            try:
                m = json.loads(self.manifest_path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                return None
            return m if isinstance(m, dict) and m.get("format") == self.FORMAT else None
        for attempt in range(3):
            got = self.remote.get(MANIFEST)
            if got is None:
                self._base = (None, set())
                return None
            m = json.loads(got[0])
            if not isinstance(m, dict) or m.get("format") != self.FORMAT:
                self._base = (got[1], set())
                return None
            try:
                self._fetch(m)
            except FileNotFoundError:  # a writer replaced that version meanwhile: read the new one
                if attempt == 2:
                    raise
                continue
            self._base = (got[1], self._files(m))
            return m
        return None

    def exists(self) -> bool:
        return self.manifest() is not None

    def _fetch(self, m: dict[str, Any]) -> None:
        """Bring the files ``m`` names into the local cache (those not there yet); when a new
        version arrived, drop cached files no longer named (unless a writer of this machine holds
        the lock: it cleans up itself)."""
        assert self.remote is not None
        self.root.mkdir(parents=True, exist_ok=True)
        files = self._files(m)
        missing = sorted(n for n in files if not (self.root / n).exists())
        for name in missing:
            self.remote.download(name, self.root / name)
        if missing:
            self._prune_cache(files)

    def _prune_cache(self, keep: set[str]) -> None:
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            try:
                for p in self.root.iterdir():
                    if p.name.startswith(".") or p.name == MANIFEST or p.name in keep:
                        continue
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ write
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One writer of this machine at a time; when shared, also note the manifest the update
        starts from (its etag is the condition of the commit) and a fresh token for new names."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                if self.remote is not None:
                    self._token = secrets.token_hex(4)
                    got = self.remote.get(MANIFEST)
                    self._base = (got[1] if got else None, set())
                    if got is not None:
                        with contextlib.suppress(ValueError, TypeError):
                            prev = json.loads(got[0])
                            if isinstance(prev, dict) and prev.get("format") == self.FORMAT:
                                self._base = (got[1], self._files(prev))
                yield
            finally:
                self._token = ""
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _commit_manifest(self, m: dict[str, Any]) -> None:
        """Make ``m`` the current version (call inside :meth:`_lock`). Shared: upload this
        attempt's new files, then the conditional PUT; raises :class:`ObjectConflict` (after
        removing the uploads) when another writer committed first."""
        body = json.dumps(m)
        if self.remote is None:
            tmp = self.manifest_path.with_suffix(".json.tmp")
            tmp.write_text(body)
            os.replace(tmp, self.manifest_path)
            return
        etag, before = self._base
        files = self._files(m)
        new = sorted(n for n in files if self._token and self._token in n)
        uploaded: list[str] = []
        try:
            for name in new:
                uploaded.append(name)
                self.remote.upload(self.root / name, name)
            if etag is None:
                new_etag = self.remote.put(MANIFEST, body.encode(), create_only=True)
            else:
                new_etag = self.remote.put(MANIFEST, body.encode(), if_match=etag)
        except BaseException:
            with contextlib.suppress(Exception):
                self.remote.delete(uploaded)
            raise
        self._base = (new_etag, files)
        # the version replaced: its files are no longer named by any manifest (readers holding it
        # get FileNotFoundError and re-read the manifest); and what writers that died or lost the
        # store mid-update left behind, once older than ORPHAN_GRACE_S (a live writer's uploads
        # are younger: it commits or removes them within its update)
        with contextlib.suppress(Exception):
            cutoff = time.time() - ORPHAN_GRACE_S
            orphans = {
                n.split("/")[0]
                for n, mtime in self.remote.entries()
                if mtime < cutoff and n.split("/")[0] not in files and n != MANIFEST
            }
            self.remote.delete(sorted((before - files) | orphans))

    def _retrying(self, attempt: Callable[[int], T]) -> T:
        """Run ``attempt(i)`` until it commits; a lost conditional PUT starts over from the winner's
        manifest. Local indexes never conflict (one attempt)."""
        tries = self.lh.settings.storage.index_commit_attempts if self.remote is not None else 1
        delay = 0.05
        for i in range(tries):
            try:
                return attempt(i)
            except ObjectConflict as exc:
                if i == tries - 1:
                    raise IndexConflict(
                        f"the shared index at {self.remote.uri if self.remote else self.root} was "
                        f"updated by another writer {tries} times while this update ran; nothing of "
                        "this update was committed: run it again"
                    ) from exc
                time.sleep(delay * (1 + secrets.randbelow(100) / 100))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")
