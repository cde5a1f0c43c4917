"""Who is acting: the known user behind every CLI and library call, and what each role may do.

An identity comes from ONE of (DESIGN.md §8, issue 12.1):

1. a signed, expiring token written by ``pesquisa login`` (HMAC-SHA256 with the home's identity key
   ``HOME/keys/identity.key``; bound to the OS user that signed in); or
2. the users file (``HOME/users.yaml``, the same file the app signs in with): an entry whose
   ``os_users`` list names the OS user running the process (``root`` maps to nobody unless it is
   listed explicitly); or
3. a named service identity (``service_identity``: Dagster and the stream jobs), from the users file
   when it defines one (``service: true``), else the built-in default.

The OS user is read from the process's effective uid, never from ``USER``/``LOGNAME``; the users
file is read from the home (or the settings *file*), never from an environment variable, so neither
flags nor the environment can widen an identity: ``--user/--role/--agency`` (and ``PESQUISA_USER``
/ ``PESQUISA_ROLE`` / ``PESQUISA_AGENCY``) may only repeat it or narrow it (:func:`narrow`).

The roles/permissions table (:data:`PERMISSIONS`) is enforced by the library
(:func:`require_permission`), not only by the app's menu.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES: tuple[str, ...] = ("investigator", "analyst", "supervisor", "engineer", "admin")

#: action -> roles allowed to perform it (the one table the library checks)
PERMISSIONS: dict[str, frozenset[str]] = {
    "search": frozenset({"investigator", "analyst", "supervisor", "admin"}),
    "watchlist": frozenset({"investigator", "supervisor", "admin"}),
    "export": frozenset({"investigator", "supervisor", "admin"}),
    "unmask": frozenset({"supervisor", "admin"}),
    "cases": frozenset({"investigator", "supervisor", "admin"}),
    "audit": frozenset({"supervisor", "admin"}),
    "ingest": frozenset({"engineer", "admin"}),
    "administer": frozenset({"admin"}),
}

#: built-in service identities (a users-file entry with the same name and ``service: true`` wins)
SERVICES: dict[str, tuple[str, str | None]] = {
    "dagster": ("engineer", None),
    "stream": ("engineer", None),
    # the scheduled movement job aggregates every agency's reads into agency-tagged tables that are
    # scoped again when read (pipelines/movement/store.py); it never answers a person's query
    "movement": ("admin", None),
}

TOKEN_VERSION = 1
DEFAULT_TOKEN_HOURS = 12.0


class IdentityError(PermissionError):
    """No known user could be established, or a flag tried to widen the identity."""


class PermissionDenied(PermissionError):
    """The role may not perform this action."""


@dataclass(frozen=True)
class Identity:
    """A known user: name, role, agency (None only for admins and services) and how it was proven."""

    user: str
    role: str
    agency: str | None
    source: str  # "token" | "users-file" | "service" | "app"
    os_user: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def os_user() -> str:
    """The OS user of this process from its effective uid (not from ``USER``/``LOGNAME``)."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return f"uid{os.geteuid()}"


def allowed(role: str, action: str) -> bool:
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(PERMISSIONS)}")
    return role in PERMISSIONS[action]


def require_permission(role: str, action: str, *, user: str = "") -> None:
    """Raise :class:`PermissionDenied` unless ``role`` may perform ``action``."""
    if not allowed(role, action):
        who = f"{user} ({role})" if user else role
        may = ", ".join(sorted(PERMISSIONS[action]))
        raise PermissionDenied(f"{who} may not {action}; allowed roles: {may}")


def permissions_of(role: str) -> frozenset[str]:
    return frozenset(a for a, roles in PERMISSIONS.items() if role in roles)


# ----------------------------------------------------------------------------------- users file
def users_file(home: str | os.PathLike[str]) -> Path:
    """The users file of ``home``: ``app.users_file`` from the settings *file* (not the environment),
    else ``HOME/users.yaml``."""
    from lakehouse.settings import load_settings

    home_path = Path(home).expanduser()
    configured = load_settings(home_path, environ={"PESQUISA_HOME": str(home_path)}).app.users_file
    return Path(configured).expanduser() if configured else home_path / "users.yaml"


def _entries(path: Path) -> dict[str, dict[str, Any]]:
    import yaml

    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    users = data.get("users") if isinstance(data, dict) else None
    return {str(k): v for k, v in (users or {}).items() if isinstance(v, dict)}


def _identity_from_entry(name: str, entry: dict[str, Any], source: str, osu: str) -> Identity:
    role = str(entry.get("role", "")).strip().lower()
    if role not in ROLES:
        raise IdentityError(f"user {name!r} has role {role!r}; expected one of {', '.join(ROLES)}")
    agency = entry.get("agency") or None
    if agency is None and role != "admin" and source != "service":
        raise IdentityError(f"user {name!r} ({role}) has no agency in the users file")
    if role == "admin":
        agency = None  # an admin sees every agency unless narrowed (--agency)
    return Identity(name, role, str(agency) if agency else None, source, osu)


def user_entry(home: str | os.PathLike[str], name: str) -> dict[str, Any] | None:
    return _entries(users_file(home)).get(name)


# ----------------------------------------------------------------------------------- tokens
def _key_path(home: str | os.PathLike[str]) -> Path:
    return Path(home).expanduser() / "keys" / "identity.key"


def identity_key(home: str | os.PathLike[str], *, create: bool = False) -> bytes | None:
    """The home's token-signing key (32 random bytes, owner-only), created on first login."""
    path = _key_path(home)
    if path.exists():
        return path.read_bytes()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _home_id(home: str | os.PathLike[str]) -> str:
    return hashlib.sha256(str(Path(home).expanduser().resolve()).encode()).hexdigest()[:16]


def token_path(home: str | os.PathLike[str], osu: str | None = None) -> Path:
    """Where ``pesquisa login`` keeps this OS user's token for ``home`` (in the OS user's own home
    directory, owner-only)."""
    return _token_base(osu or os_user()) / ".pesquisa" / "tokens" / f"{_home_id(home)}.token"


def _token_base(osu: str) -> Path:
    """The OS user's home directory from the passwd database (not from ``$HOME``)."""
    import pwd

    try:
        return Path(pwd.getpwnam(osu).pw_dir)
    except KeyError:
        return Path("/tmp") / f"pesquisa-{osu}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(
    home: str | os.PathLike[str],
    user: str,
    *,
    hours: float = DEFAULT_TOKEN_HOURS,
    now: dt.datetime | None = None,
    osu: str | None = None,
) -> str:
    key = identity_key(home, create=True)
    assert key is not None
    now = now or dt.datetime.now(dt.UTC)
    payload = {
        "v": TOKEN_VERSION,
        "user": user,
        "os_user": osu or os_user(),
        "home": _home_id(home),
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(hours=hours)).timestamp()),
    }
    body = _b64(json.dumps(payload, sort_keys=True).encode())
    sig = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify_token(
    home: str | os.PathLike[str], token: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The token's payload when its signature, home, OS user and expiry check out; else raises."""
    key = identity_key(home)
    if key is None:
        raise IdentityError("this home has no identity key: run `pesquisa login`")
    try:
        body, sig = token.strip().split(".")
        payload: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError) as exc:
        raise IdentityError("the login token is malformed: run `pesquisa login` again") from exc
    good = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(good, sig):
        raise IdentityError("the login token's signature is not valid: run `pesquisa login` again")
    if payload.get("home") != _home_id(home):
        raise IdentityError("the login token belongs to another home")
    if payload.get("os_user") != os_user():
        raise IdentityError("the login token belongs to another OS user")
    now = now or dt.datetime.now(dt.UTC)
    if int(payload.get("exp", 0)) <= now.timestamp():
        raise IdentityError("the login token has expired: run `pesquisa login` again")
    return payload


def login(
    home: str | os.PathLike[str], user: str, password: str, *, hours: float = DEFAULT_TOKEN_HOURS
) -> Path:
    """Check ``user``'s password against the users file and write a signed token for this OS user.
    Returns the token's path. Raises :class:`IdentityError` on a wrong name or password."""
    from app.auth import authenticate

    path = users_file(home)
    if authenticate(path, user, password) is None:
        raise IdentityError("unknown user or wrong password")
    token = sign_token(home, user, hours=hours)
    out = token_path(home)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(out.parent, 0o700)
    tmp = out.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    tmp.replace(out)
    return out


def logout(home: str | os.PathLike[str]) -> bool:
    path = token_path(home)
    if path.exists():
        path.unlink()
        return True
    return False


# ----------------------------------------------------------------------------------- resolve
def current_identity(home: str | os.PathLike[str]) -> Identity:
    """The identity of this process for ``home`` (token first, then the users file's ``os_users``)."""
    osu = os_user()
    entries = _entries(users_file(home))
    tok = token_path(home, osu)
    if tok.exists():
        payload = verify_token(home, tok.read_text())
        entry = entries.get(str(payload["user"]))
        if entry is None:
            raise IdentityError(f"user {payload['user']!r} of the login token is no longer in the users file")
        if entry.get("disabled"):
            raise IdentityError(f"user {payload['user']!r} is disabled")
        return _identity_from_entry(str(payload["user"]), entry, "token", osu)
    matches = [
        name
        for name, e in entries.items()
        if osu in [str(x) for x in (e.get("os_users") or [])]
        and not e.get("service")
        and not e.get("disabled")
    ]
    if len(matches) == 1:
        return _identity_from_entry(matches[0], entries[matches[0]], "users-file", osu)
    if len(matches) > 1:
        raise IdentityError(
            f"OS user {osu!r} is mapped to several users ({', '.join(sorted(matches))}): fix the users file"
        )
    raise IdentityError(
        f"OS user {osu!r} is not a known Pesquisa user: run `pesquisa login --user NAME`, or add "
        f"`os_users: [{osu}]` to a user in {users_file(home)}"
    )


def service_identity(home: str | os.PathLike[str], service: str) -> Identity:
    """The named service identity Dagster / stream jobs run as (``svc-<name>``)."""
    name = f"svc-{service}"
    entry = _entries(users_file(home)).get(name)
    if entry is not None and entry.get("service"):
        return _identity_from_entry(name, entry, "service", os_user())
    if service not in SERVICES:
        raise IdentityError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    role, agency = SERVICES[service]
    return Identity(name, role, agency, "service", os_user())


def narrow(
    identity: Identity, *, user: str | None = None, role: str | None = None, agency: str | None = None
) -> Identity:
    """Apply ``--user/--role/--agency``: each may repeat the identity or narrow it, never widen it.

    ``user`` must be the identity's user; ``role`` must be one whose permissions are a subset of the
    identity's; ``agency`` must be the identity's agency (an admin may narrow to any one agency)."""
    if user and user.strip() and user.strip() != identity.user:
        raise IdentityError(
            f"you are {identity.user!r} ({identity.source}); --user {user.strip()!r} is not allowed"
        )
    new_role = identity.role
    if role and role.strip():
        r = role.strip().lower()
        if r not in ROLES:
            raise IdentityError(f"unknown role {r!r}; one of {', '.join(ROLES)}")
        if not permissions_of(r) <= permissions_of(identity.role):
            raise IdentityError(f"{identity.user} is {identity.role}; --role {r} would widen it")
        new_role = r
    new_agency = identity.agency
    if agency and agency.strip():
        a = agency.strip()
        if identity.agency is not None and a != identity.agency:
            raise IdentityError(f"{identity.user} belongs to {identity.agency}; --agency {a} is not allowed")
        new_agency = a
    # an admin narrowed to another role without an agency sees no agency's data (never all of them)
    return Identity(identity.user, new_role, new_agency, identity.source, identity.os_user)


def lakehouse_home(lh: object) -> Path:
    """The home directory of a Lakehouse (where keys, anchors, probes and the users file live)."""
    home = getattr(lh, "home", None)
    if home is not None:
        return Path(home)
    root = str(getattr(getattr(lh, "storage", None), "root", ""))
    if root and "://" not in root:
        return Path(root).parent
    from lakehouse.config import resolve_home

    return resolve_home(None)


def map_os_user(
    home: str | os.PathLike[str],
    name: str,
    *,
    role: str,
    agency: str | None,
    os_users: list[str] | None = None,
) -> Identity:
    """Add (or update) users-file entry ``name`` mapped to ``os_users`` (default: this process's OS
    user) with ``role`` and ``agency``; keeps its password hash if it has one. For operators and
    tests; an entry without a password cannot sign in to the app."""
    import yaml

    from app.auth import _write

    path = users_file(home)
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
    users = data.setdefault("users", {}) or {}
    data["users"] = users
    entry = dict(users.get(name) or {})
    entry.update({"role": role, "agency": agency, "os_users": list(os_users or [os_user()])})
    entry.setdefault("name", name)
    users[name] = entry
    for other, e in users.items():  # an OS user maps to one Pesquisa user
        if other != name and isinstance(e, dict) and e.get("os_users"):
            e["os_users"] = [u for u in e["os_users"] if u not in entry["os_users"]]
    _write(path, data)
    return _identity_from_entry(name, entry, "users-file", os_user())
