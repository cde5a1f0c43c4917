"""Who is searching, for which case and why: the :class:`SearchContext` every investigative search
carries (DESIGN.md §8).

Only an administrator sees every agency; any other role without an agency sees nothing (no agency
never means all agencies). Searches are scoped to the cameras and rows that agency may see
(:mod:`pipelines.governance.scope`). The CLI and notebooks build the context from the caller's
proven identity (:func:`context_from_env` -> :mod:`pipelines.governance.identity`), the app from the
signed-in user; the search library checks it and audits every search.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lakehouse.settings import SESSION_ENV
from pipelines.governance.identity import ROLES, Identity, current_identity, narrow
from pipelines.governance.identity import os_user as _os_user

DEFAULT_ROLE = "investigator"

# the session variables are named and read in lakehouse.settings (SESSION_ENV, session_env)
ENV_USER = SESSION_ENV["user"]
ENV_ROLE = SESSION_ENV["role"]
ENV_AGENCY = SESSION_ENV["agency"]
ENV_CASE = SESSION_ENV["case"]
ENV_PURPOSE = SESSION_ENV["purpose"]
#: the agency of a non-admin context without one: matches no row (no agency never means all agencies)
NO_AGENCY = "\x00no-agency"


@dataclass(frozen=True)
class SearchContext:
    """The identity, case number and purpose behind a search."""

    user: str
    role: str = DEFAULT_ROLE
    agency: str | None = None
    case_number: str = ""
    purpose: str = ""
    os_user: str = field(default_factory=_os_user)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    @property
    def sees_all_agencies(self) -> bool:
        """Only an administrator not narrowed to one agency sees every agency (no agency never means
        all agencies for any other role: it means none)."""
        return self.role == "admin" and not self.agency

    @property
    def visible_agency(self) -> str | None:
        """``None`` for an administrator who sees every agency; otherwise the agency whose rows it
        sees (a string that matches no agency when it has none: no agency never means all)."""
        if self.sees_all_agencies:
            return None
        return self.agency or NO_AGENCY

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def os_user() -> str:
    """The OS user of this process (from the effective uid; see :mod:`pipelines.governance.identity`)."""
    return _os_user()


def context_for(
    identity: Identity, *, case_number: str | None = None, purpose: str | None = None
) -> SearchContext:
    return SearchContext(
        user=identity.user,
        role=identity.role,
        agency=identity.agency,
        case_number=_clean(case_number) or "",
        purpose=_clean(purpose) or "",
        os_user=identity.os_user,
    )


def context_from_env(
    *,
    user: str | None = None,
    role: str | None = None,
    agency: str | None = None,
    case_number: str | None = None,
    purpose: str | None = None,
    environ: dict[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    identity: Identity | None = None,
) -> SearchContext:
    """The context of the caller of a CLI command or a library call for ``home``.

    The identity is proven (:func:`pipelines.governance.identity.current_identity`: a login token or
    the users file's OS-user mapping), never taken from flags or the environment: ``user`` / ``role``
    / ``agency`` (and ``PESQUISA_USER`` / ``PESQUISA_ROLE`` / ``PESQUISA_AGENCY``) may only repeat or
    narrow it (:func:`pipelines.governance.identity.narrow`; raises ``IdentityError`` otherwise).
    Case number and purpose come from the arguments or ``PESQUISA_CASE`` / ``PESQUISA_PURPOSE``; a
    missing one is NOT an error here: the search refuses it (so the refusal happens in one place)."""
    from lakehouse.config import resolve_home
    from lakehouse.settings import session_env

    if identity is None:
        identity = current_identity(Path(home) if home is not None else resolve_home(None, environ=environ))
    env = session_env(environ)  # PESQUISA_USER / _ROLE / _AGENCY / _CASE / _PURPOSE
    identity = narrow(identity, user=env["user"], role=env["role"], agency=env["agency"])
    identity = narrow(identity, user=_clean(user), role=_clean(role), agency=_clean(agency))
    return context_for(
        identity,
        case_number=_clean(case_number) or env["case"],
        purpose=_clean(purpose) or env["purpose"],
    )
