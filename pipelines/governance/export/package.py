"""The evidence package on disk: a zip whose every file is listed in a ``sha256sum``-format
manifest (``SHA256SUMS``), and an Ed25519 signature of that manifest's exact bytes
(``SHA256SUMS.sig``, 64 raw bytes) by the exporting agency's registered key.

Verifying (:func:`verify_members` / :func:`verify_package`) checks that the zip can be read, that
the manifest lists exactly the package's files (none missing, none added), every file's SHA-256,
and the signature, with the key the caller trusts: an explicit public key, else the key registered
in the home under the package's key id (and agency). Without Pesquisa the same checks are
``sha256sum -c SHA256SUMS`` and ``openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in
SHA256SUMS -sigfile SHA256SUMS.sig`` (docs/EVIDENCE.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from lakehouse import Lakehouse

MANIFEST = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
INFO = "export.json"
PUBLIC_KEY = "keys/signing-key.pub.pem"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")
#: a fixed timestamp for every zip entry: the package's bytes depend only on its content
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    """``sha256sum`` output for ``files`` (sorted by name, two spaces, LF line ends)."""
    lines = [f"{sha256(files[name])}  {name}\n" for name in sorted(files)]
    return "".join(lines).encode("utf-8")


def parse_manifest(data: bytes) -> dict[str, str]:
    """``{name: sha256}`` of a manifest; raises ValueError on a malformed line or a repeated name."""
    out: dict[str, str] = {}
    text = data.decode("utf-8")
    for n, line in enumerate(text.splitlines(), start=1):
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"{MANIFEST} line {n} is not '<sha256>  <file>'")
        if m.group(2) in out:
            raise ValueError(f"{MANIFEST} lists {m.group(2)} twice")
        out[m.group(2)] = m.group(1)
    if not text.endswith("\n"):
        raise ValueError(f"{MANIFEST} does not end with a newline")
    return out


def write_package(out: Path, files: dict[str, bytes], key: Ed25519PrivateKey) -> str:
    """Write the zip: ``files`` + manifest + signature. Returns the SHA-256 of the zip file."""
    for name in files:
        if name in (MANIFEST, SIGNATURE) or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"bad package member name {name!r}")
    manifest = manifest_bytes(files)
    members = {**files, MANIFEST: manifest, SIGNATURE: key.sign(manifest)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            stored = name.endswith((".mp4", ".jpg", ".sig"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, members[name])
    data = buf.getvalue()
    out.write_bytes(data)
    return sha256(data)


# -------------------------------------------------------------------------------------- verify
@dataclass
class VerifyResult:
    """What :func:`verify_package` found: ``ok`` only when every check passed."""

    files_checked: int = 0
    files_ok: int = 0
    signature_ok: bool = False
    key_id: str | None = None
    key_source: str | None = None  # "given" | "registered" | "package (not registered)"
    agency: str | None = None
    case_number: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.signature_ok and self.files_checked > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files_checked": self.files_checked,
            "files_ok": self.files_ok,
            "signature_ok": self.signature_ok,
            "key_id": self.key_id,
            "key_source": self.key_source,
            "agency": self.agency,
            "case_number": self.case_number,
            "problems": self.problems,
        }


def read_members(path: Path) -> dict[str, bytes]:
    """Every member of the zip (raises ValueError when it is not a readable zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ValueError(f"zip member {bad} is corrupt (CRC mismatch)")
            names = zf.namelist()
            if len(set(names)) != len(names):
                raise ValueError("the zip holds two members with the same name")
            return {n: zf.read(n) for n in names if not n.endswith("/")}
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise ValueError(f"{path} is not a readable zip: {exc}") from exc


def _trusted_key(
    members: dict[str, bytes], res: VerifyResult, lh: Lakehouse | None, public_key: bytes | None
) -> Ed25519PublicKey | None:
    from pipelines.governance.keys import key_id, load_public_pem, registered_key

    if public_key is not None:
        res.key_source = "given"
        try:
            return load_public_pem(public_key)
        except ValueError as exc:
            res.problems.append(f"the given public key cannot be used: {exc}")
            return None
    if lh is not None and res.key_id:
        row = registered_key(lh, res.key_id)
        if row is None:
            res.problems.append(
                f"the signing key {res.key_id[:16]}… is not registered in this home "
                "(pass the agency's published public key with --pubkey)"
            )
            return None
        if row.get("agency") != res.agency:
            res.problems.append(
                f"the signing key {res.key_id[:16]}… is registered to agency {row.get('agency')}, "
                f"not to the package's agency {res.agency}"
            )
            return None
        res.key_source = "registered"
        key = load_public_pem(str(row["public_pem"]).encode("ascii"))
        if key_id(key) != res.key_id:
            res.problems.append("the registered key does not match its key id")
            return None
        return key
    res.key_source = "package (not registered)"
    res.problems.append("no trusted key: pass --pubkey or verify against a home that registered the key")
    return None


def verify_members(
    members: dict[str, bytes], *, lh: Lakehouse | None = None, public_key: bytes | None = None
) -> VerifyResult:
    """Check a package's members (see module doc)."""
    from cryptography.exceptions import InvalidSignature

    res = VerifyResult()
    manifest = members.get(MANIFEST)
    sig = members.get(SIGNATURE)
    if manifest is None:
        res.problems.append(f"{MANIFEST} is missing")
        return res
    if sig is None:
        res.problems.append(f"{SIGNATURE} is missing")
    try:
        listed = parse_manifest(manifest)
    except (ValueError, UnicodeDecodeError) as exc:
        res.problems.append(f"{MANIFEST} is malformed: {exc}")
        listed = {}
    present = {n for n in members if n not in (MANIFEST, SIGNATURE)}
    for name in sorted(set(listed) - present):
        res.problems.append(f"{name}: listed in {MANIFEST} but missing from the package")
    for name in sorted(present - set(listed)):
        res.problems.append(f"{name}: in the package but not listed in {MANIFEST}")
    for name in sorted(set(listed) & present):
        res.files_checked += 1
        if sha256(members[name]) == listed[name]:
            res.files_ok += 1
        else:
            res.problems.append(f"{name}: SHA-256 does not match {MANIFEST} (the file was changed)")
    try:
        info = json.loads(members.get(INFO, b"{}"))
        res.key_id = str(info.get("signing_key_id") or "") or None
        res.agency = info.get("agency")
        res.case_number = info.get("case_number")
    except (ValueError, UnicodeDecodeError):
        res.problems.append(f"{INFO} is not valid JSON")
    key = _trusted_key(members, res, lh, public_key)
    if key is not None and sig is not None:
        try:
            key.verify(sig, manifest)
            res.signature_ok = True
        except InvalidSignature:
            res.problems.append(f"the signature {SIGNATURE} does not match {MANIFEST} and the key")
    return res


def verify_package(
    path: str | Path, *, lh: Lakehouse | None = None, public_key: bytes | None = None
) -> VerifyResult:
    """Verify the zip at ``path`` (never raises on a bad package: the result lists the problems)."""
    try:
        members = read_members(Path(path))
    except ValueError as exc:
        res = VerifyResult()
        res.problems.append(str(exc))
        return res
    return verify_members(members, lh=lh, public_key=public_key)
