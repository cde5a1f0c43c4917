"""Plain objects beside the tables on S3-compatible storage: what is not a Delta table but must be
shared by every machine of a deployment (the search indexes' files and manifests).

The client is built from the same ``storage.storage_options`` delta-rs gets (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, and the
``timeout``/``connect_timeout``/``max_retries`` knobs; keys are case-insensitive; anything missing
falls back to boto3's own credential chain). A manifest is replaced with a *conditional PUT*:
``If-None-Match: *`` creates it only if absent, ``If-Match: <etag>`` replaces it only if nobody
replaced it since it was read (AWS S3, MinIO and moto enforce both; a store that does not answer
412/409 to a stale condition cannot host shared indexes). Immutable files are written with
``If-None-Match: *`` too, so no writer can overwrite another's file.
"""

from __future__ import annotations

import importlib
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: HTTP statuses of a failed precondition (412) and of a concurrent conditional write (409)
CONFLICT_STATUS = (409, 412)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


class ObjectConflict(RuntimeError):
    """A conditional write lost: the object changed (or appeared) since it was read."""


class ObjectStoreError(RuntimeError):
    """The object store failed or could not be reached (the message says which request)."""


def is_object_uri(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def _seconds(value: str) -> float:
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"not a duration: {value!r} (e.g. 5s, 500ms)")
    n = float(m.group(1))
    return {"ms": n / 1000, "m": n * 60}.get(m.group(2) or "s", n)


def s3_client(storage_options: Mapping[str, str]) -> Any:
    """A boto3 S3 client configured from delta-rs storage options."""
    boto3 = importlib.import_module("boto3")
    botocore_config = importlib.import_module("botocore.config")
    opts = {k.lower(): str(v) for k, v in storage_options.items()}

    def pick(*names: str) -> str | None:
        for n in names:
            if opts.get(n):
                return opts[n]
        return None

    conf: dict[str, Any] = {
        "retries": {"max_attempts": int(pick("max_retries") or 3) + 1, "mode": "standard"}
    }
    if pick("timeout"):
        conf["read_timeout"] = _seconds(str(pick("timeout")))
    if pick("connect_timeout"):
        conf["connect_timeout"] = _seconds(str(pick("connect_timeout")))
    endpoint = pick("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
    if (
        endpoint
        and endpoint.startswith("http://")
        and (pick("aws_allow_http", "allow_http") or "").lower() != "true"
    ):
        raise ValueError("an http:// object-store endpoint needs AWS_ALLOW_HTTP=true in the storage options")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=pick("aws_access_key_id", "access_key_id"),
        aws_secret_access_key=pick("aws_secret_access_key", "secret_access_key"),
        aws_session_token=pick("aws_session_token", "session_token", "token"),
        region_name=pick("aws_region", "region", "aws_default_region") or "us-east-1",
        config=botocore_config.Config(**conf),
    )


@dataclass
class ObjectDir:
    """A "directory" on S3: ``s3://bucket/prefix`` whose objects are addressed by relative names."""

    uri: str
    storage_options: Mapping[str, str]

    def __post_init__(self) -> None:
        if not is_object_uri(self.uri):
            raise ValueError(f"not an object-store URI: {self.uri!r}")
        rest = self.uri.split("://", 1)[1]
        self.bucket, _, prefix = rest.partition("/")
        self.prefix = prefix.strip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.storage_options)
        return self._client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        botocore_exc = importlib.import_module("botocore.exceptions")
        try:
            return fn(Bucket=self.bucket, **kwargs)
        except botocore_exc.ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            code = exc.response.get("Error", {}).get("Code", "")
            if status in CONFLICT_STATUS:
                raise ObjectConflict(f"{what} s3://{self.bucket}/{kwargs.get('Key', '')}: {code}") from exc
            if status == 404 or code in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"s3://{self.bucket}/{kwargs.get('Key', '')}") from exc
            raise ObjectStoreError(
                f"{what} s3://{self.bucket}/{kwargs.get('Key', '')} failed: {exc}"
            ) from exc
        except (botocore_exc.BotoCoreError, OSError) as exc:
            raise ObjectStoreError(
                f"{what} s3://{self.bucket}/{kwargs.get('Key', '')} failed: {exc.__class__.__name__}: {exc}"
            ) from exc

    # ------------------------------------------------------------------ small objects with etags
    def get(self, name: str) -> tuple[bytes, str] | None:
        """(body, etag), or None when the object does not exist."""
        try:
            r = self._call("GET", self.client.get_object, Key=self.key(name))
        except FileNotFoundError:
            return None
        return bytes(r["Body"].read()), str(r["ETag"])

    def put(self, name: str, body: bytes, *, if_match: str | None = None, create_only: bool = False) -> str:
        """Write ``name``; ``if_match``: only if its etag is still that one; ``create_only``: only if
        it does not exist. Raises :class:`ObjectConflict` when the condition fails. Returns the etag."""
        cond: dict[str, str] = {}
        if if_match is not None:
            cond["IfMatch"] = if_match
        elif create_only:
            cond["IfNoneMatch"] = "*"
        try:
            r = self._call("PUT", self.client.put_object, Key=self.key(name), Body=body, **cond)
        except FileNotFoundError as exc:  # If-Match on an object deleted meanwhile
            raise ObjectConflict(f"PUT {self.key(name)}: the object is gone") from exc
        return str(r["ETag"])

    # ------------------------------------------------------------------ immutable files and folders
    def names(self, under: str) -> list[str]:
        """Relative names of the objects at ``under`` (a file) or below ``under/`` (a folder)."""
        return [n for n, _ in self.entries(under)]

    def entries(self, under: str = "") -> list[tuple[str, float]]:
        """(relative name, last-modified epoch seconds) of the objects at ``under`` or below it
        (everything in this directory when ``under`` is empty)."""
        out: list[tuple[str, float]] = []
        token: str | None = None
        base = self.key(under) if under else self.prefix
        while True:
            kw: dict[str, Any] = {"Prefix": f"{base}/" if not under and base else base}
            if token:
                kw["ContinuationToken"] = token
            r = self._call("LIST", self.client.list_objects_v2, **kw)
            for o in r.get("Contents", []):
                k = str(o["Key"])
                if not under or k == base or k.startswith(base + "/"):
                    name = k[len(self.prefix) + 1 :] if self.prefix else k
                    out.append((name, float(o["LastModified"].timestamp())))
            if not r.get("IsTruncated"):
                return out
            token = r.get("NextContinuationToken")

    def upload(self, local: Path, name: str) -> list[str]:
        """Upload a file or every file of a folder as ``name``(/...), create-only. Returns the names."""
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        done: list[str] = []
        for f in files:
            rel = name if f == local else f"{name}/{f.relative_to(local).as_posix()}"
            self.put(rel, f.read_bytes(), create_only=True)
            done.append(rel)
        return done

    def download(self, name: str, dest: Path) -> None:
        """Fetch the file or folder ``name`` into ``dest`` (written beside it, then renamed into
        place). FileNotFoundError when nothing is stored under that name."""
        names = self.names(name)
        if not names:
            raise FileNotFoundError(f"{self.uri}/{name}")
        tmp = dest.with_name(f".fetch-{dest.name}-{uuid.uuid4().hex[:8]}")
        try:
            for n in names:
                target = tmp if n == name else tmp / n[len(name) + 1 :]
                target.parent.mkdir(parents=True, exist_ok=True)
                got = self.get(n)
                if got is None:
                    raise FileNotFoundError(f"{self.uri}/{n}")
                target.write_bytes(got[0])
            if dest.exists():  # another process of this machine fetched it meanwhile
                return
            tmp.replace(dest)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink(missing_ok=True)

    def delete(self, names: Iterable[str]) -> None:
        """Delete the objects (files, and folders with everything below them); missing ones are fine."""
        keys = [self.key(n) for name in names for n in self.names(name)]
        for i in range(0, len(keys), 1000):
            chunk = keys[i : i + 1000]
            self._call("DELETE", self.client.delete_objects, Delete={"Objects": [{"Key": k} for k in chunk]})
