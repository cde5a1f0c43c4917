"""Who may sign in to the app: users, roles and agencies from a YAML file with bcrypt hashes.

The file (default ``HOME/users.yaml``) looks like::

    users:
      demo:
        name: Demo Investigator
        role: investigator          # investigator | analyst | supervisor | engineer | admin
        agency: police911           # admins may leave it empty: they see every agency
        password_hash: $2b$12$...   # bcrypt; never a clear-text password

:func:`ensure_users_file` writes a first file: outside the demo only an ``admin`` whose random
password must be changed at first sign-in (``must_change_password: true``); the demo home gets
``demo`` (investigator) and ``admin`` with the published password ``pesquisa-demo``. Entries may also
carry ``os_users`` (the OS accounts the CLI maps to this user, see
:mod:`pipelines.governance.identity`) and ``disabled: true``. No Streamlit import here, so the CLI and
the tests use the same code as the sign-in form.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from pipelines.governance.identity import ROLES  # one roles table

#: fixed password for the demo home only (``pesquisa demo``); documented in the README
DEMO_PASSWORD = "pesquisa-demo"
USERS_FILE_ENV = "PESQUISA_USERS_FILE"
DEFAULT_AGENCY = "police911"
ROUNDS_ENV = "PESQUISA_BCRYPT_ROUNDS"


class UsersFileError(ValueError):
    """The users file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    agency: str | None
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def scope_agency(self) -> str | None:
        """The agency searches are scoped to: ``None`` (all agencies) only for admins."""
        return None if self.is_admin else self.agency


def default_users_file(home: str | os.PathLike[str]) -> Path:
    return Path(home) / "users.yaml"


def users_file_from_env(home: str | os.PathLike[str]) -> Path:
    """Setting ``app.users_file`` (``PESQUISA_USERS_FILE``), else ``HOME/users.yaml``."""
    from lakehouse.settings import get_settings

    value = get_settings(home).app.users_file
    return Path(value) if value else default_users_file(home)


def hash_password(password: str) -> str:
    """bcrypt hash (cost 12; ``PESQUISA_BCRYPT_ROUNDS`` lowers it for tests, never below 4)."""
    if not password:
        raise ValueError("password must not be empty")
    from lakehouse.settings import get_settings

    rounds = get_settings().app.bcrypt_rounds  # 4..16, validated by the settings model
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UsersFileError(
            f"users file {path} does not exist (run `pesquisa app` once to create it)"
        ) from None
    except yaml.YAMLError as exc:
        raise UsersFileError(f"users file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("users", {}), dict):
        raise UsersFileError(f"users file {path} must hold a mapping `users: {{name: {{...}}}}`")
    return data


def load_users(path: str | os.PathLike[str]) -> dict[str, tuple[User, str]]:
    """``username -> (User, bcrypt hash)``; raises :class:`UsersFileError` on a bad entry."""
    path = Path(path)
    out: dict[str, tuple[User, str]] = {}
    for username, entry in (_read(path).get("users") or {}).items():
        if not isinstance(entry, dict):
            raise UsersFileError(f"{path}: user {username!r} must be a mapping")
        role = str(entry.get("role", "")).strip().lower()
        if role not in ROLES:
            raise UsersFileError(
                f"{path}: user {username!r} has role {role!r}; expected one of {', '.join(ROLES)}"
            )
        pw_hash = str(entry.get("password_hash") or "")
        cli_only = "password_hash" not in entry and (entry.get("os_users") or entry.get("service"))
        if not cli_only and not pw_hash.startswith("$2"):
            raise UsersFileError(f"{path}: user {username!r} needs a bcrypt password_hash")
        agency = entry.get("agency") or None
        if agency is None and role != "admin":
            raise UsersFileError(f"{path}: user {username!r} ({role}) needs an agency")
        if entry.get("disabled"):
            pw_hash = ""  # a disabled user cannot sign in
        user = User(
            str(username),
            str(entry.get("name") or username),
            role,
            str(agency) if agency else None,
            bool(entry.get("must_change_password")),
        )
        out[str(username)] = (user, pw_hash)
    return out


_DUMMY: list[bytes] = []


def _dummy_hash() -> bytes:
    if not _DUMMY:
        _DUMMY.append(hash_password("not-a-password").encode("ascii"))
    return _DUMMY[0]


def authenticate(path: str | os.PathLike[str], username: str, password: str) -> User | None:
    """The user when ``password`` matches the stored bcrypt hash, else ``None``."""
    entry = load_users(path).get((username or "").strip())
    if entry is None or not password:
        # spend the same time as a real check so a wrong name is not faster than a wrong password
        bcrypt.checkpw(b"x", _dummy_hash())
        return None
    user, pw_hash = entry
    if not pw_hash:  # a CLI-only (OS user or service) entry cannot sign in to the app
        bcrypt.checkpw(b"x", _dummy_hash())
        return None
    try:
        ok = bcrypt.checkpw(password.encode("utf-8"), pw_hash.encode("ascii"))
    except ValueError:
        return None
    return user if ok else None


def add_user(
    path: str | os.PathLike[str],
    username: str,
    password: str,
    role: str,
    agency: str | None,
    name: str | None = None,
    *,
    must_change: bool = False,
) -> User:
    """Add or replace one user (the password is stored only as a bcrypt hash; ``must_change``: the
    password must be changed at the first sign-in)."""
    path = Path(path)
    role = role.strip().lower()
    if role not in ROLES:
        raise UsersFileError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise UsersFileError(f"user name {username!r} may hold only letters, digits, '.', '-', '_'")
    if agency is None and role != "admin":
        raise UsersFileError(f"a {role} needs an agency")
    data = _read(path) if path.exists() else {"users": {}}
    data.setdefault("users", {})
    old = data["users"].get(username) or {}
    entry: dict[str, Any] = {
        "name": name or username,
        "role": role,
        "agency": agency,
        "password_hash": hash_password(password),
    }
    if must_change:
        entry["must_change_password"] = True
    if old.get("os_users"):
        entry["os_users"] = old["os_users"]
    data["users"][username] = entry
    _write(path, data)
    return User(username, name or username, role, agency, must_change)


MIN_PASSWORD = 10


def set_os_users(path: str | os.PathLike[str], username: str, os_users: list[str]) -> None:
    """Map OS accounts to ``username`` for the CLI (an account maps to one user: removed elsewhere)."""
    path = Path(path)
    data = _read(path)
    if username not in data["users"]:
        raise UsersFileError(f"no user {username!r} in {path}")
    accounts = sorted({a.strip() for a in os_users if a and a.strip()})
    for entry in data["users"].values():
        if isinstance(entry, dict) and entry.get("os_users"):
            entry["os_users"] = [a for a in entry["os_users"] if a not in accounts]
    data["users"][username]["os_users"] = accounts
    _write(path, data)


def change_password(path: str | os.PathLike[str], username: str, old: str, new: str) -> User:
    """Replace ``username``'s password after checking the old one; clears ``must_change_password``."""
    path = Path(path)
    user = authenticate(path, username, old)
    if user is None:
        raise UsersFileError("the current password is wrong")
    if len(new or "") < MIN_PASSWORD:
        raise UsersFileError(f"the new password needs at least {MIN_PASSWORD} characters")
    if new == old:
        raise UsersFileError("the new password must differ from the current one")
    data = _read(path)
    entry = data["users"][username]
    entry["password_hash"] = hash_password(new)
    entry.pop("must_change_password", None)
    _write(path, data)
    return User(user.username, user.name, user.role, user.agency, False)


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    header = "# Pesquisa app users: bcrypt password hashes only. Roles: " + ", ".join(ROLES) + "\n"
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def ensure_users_file(
    path: str | os.PathLike[str],
    *,
    password: str | None = None,
    agency: str = DEFAULT_AGENCY,
    demo: bool = False,
) -> str | None:
    """Create the users file when it does not exist. Returns the password to print once, or ``None``
    when the file was already there.

    Outside the demo: only ``admin``, with a random password (or ``password``) that must be changed at
    the first sign-in. The demo (``demo=True``): ``demo`` (investigator of ``agency``) and ``admin``,
    both with ``password`` (the published :data:`DEMO_PASSWORD`)."""
    path = Path(path)
    if path.exists():
        load_users(path)  # fail early and clearly on a broken file
        return None
    if demo:
        password = password or DEMO_PASSWORD
        add_user(path, "demo", password, "investigator", agency, name="Demo Investigator")
        add_user(path, "admin", password, "admin", None, name="Administrator")
        return password
    password = password or secrets.token_urlsafe(12)
    add_user(path, "admin", password, "admin", None, name="Administrator", must_change=True)
    return password
