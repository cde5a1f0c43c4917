"""Ed25519 signing keys of a home: the one place keys are created, loaded and registered.

- :func:`load_or_create` — an Ed25519 key pair at ``PRIV``/``PUB`` (PKCS#8 / SubjectPublicKeyInfo
  PEM; the private key owner-only, created once). The audit chain's anchor key
  (``HOME/keys/audit-anchor.key``) and every agency's export key use it.
- :func:`agency_signing_key` — the export key of an agency (``HOME/keys/agencies/<agency>.key``;
  ``_all`` for an administrator acting for no agency), created on first use and its public key
  *registered* in the ``signing_keys`` table (append-only; key id = SHA-256 of the raw public key).
- :func:`registered_key` — a registered public key by id (what ``pesquisa export verify`` trusts).

A registered public key can be published (``pesquisa export keys``): a package verifies without
Pesquisa with ``openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin`` (docs/EVIDENCE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.governance.identity import lakehouse_home

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from lakehouse import Lakehouse

TABLE = "signing_keys"
NO_AGENCY_KEY = "_all"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def public_pem(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: the key's id and fingerprint."""
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    loaded = serialization.load_pem_public_key(data)
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return loaded


def load_or_create(priv: Path, pub: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The Ed25519 private key at ``priv`` (created with its public key at ``pub`` when absent, the
    private file owner-only). Returns (key, created)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if priv.exists():
        loaded = serialization.load_pem_private_key(priv.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{priv} is not an Ed25519 private key")
        return loaded, False
    _private_dir(priv.parent)
    key = Ed25519PrivateKey.generate()
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    pub.write_bytes(public_pem(key.public_key()))
    return key, True


def load_public(pub: Path) -> Ed25519PublicKey | None:
    """The public key at ``pub`` (None when absent)."""
    return load_public_pem(pub.read_bytes()) if pub.exists() else None


# ------------------------------------------------------------------------------------ agencies
def _agency_name(agency: str | None) -> str:
    name = agency or NO_AGENCY_KEY
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or name.startswith("."):
        raise ValueError(f"agency {name!r} cannot name a key file")
    return name


def agency_key_paths(lh: Lakehouse, agency: str | None) -> tuple[Path, Path]:
    d = lakehouse_home(lh) / "keys" / "agencies"
    name = _agency_name(agency)
    return d / f"{name}.key", d / f"{name}.pub.pem"


def agency_signing_key(lh: Lakehouse, agency: str | None, *, user: str = "") -> tuple[Ed25519PrivateKey, str]:
    """The export signing key of ``agency`` and its id; created on first use and its public key
    registered (``signing_keys``). A key whose public half is not registered is registered now."""
    priv, pub = agency_key_paths(lh, agency)
    key, _created = load_or_create(priv, pub)
    kid = key_id(key.public_key())
    if registered_key(lh, kid) is None:
        lh.append(
            TABLE,
            [
                {
                    "key_id": kid,
                    "agency": agency,
                    "purpose": "export",
                    "public_pem": public_pem(key.public_key()).decode("ascii"),
                    "created_at": dt.datetime.now(dt.UTC),
                    "created_by": user or None,
                }
            ],
        )
    return key, kid


def registered_keys(lh: Lakehouse, agency: str | None = None) -> list[dict[str, Any]]:
    """Registered public keys (optionally of one agency), oldest first."""
    if not lh.exists(TABLE):
        return []
    rows: list[dict[str, Any]] = lh.read(TABLE).to_pylist()
    if agency is not None:
        rows = [r for r in rows if r["agency"] == agency]
    return sorted(rows, key=lambda r: (r["created_at"], r["key_id"]))


def registered_key(lh: Lakehouse, kid: str) -> dict[str, Any] | None:
    """The registry row of key ``kid`` (None when not registered)."""
    if not lh.exists(TABLE):
        return None
    import pyarrow.dataset as pds

    rows: list[dict[str, Any]] = lh.read(TABLE, filter=pds.field("key_id") == kid).to_pylist()
    return rows[0] if rows else None
