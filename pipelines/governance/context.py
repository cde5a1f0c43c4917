"""Who is searching, for which case and why: the :class:`SearchContext` every investigative search
carries (DESIGN.md §8).

``agency=None`` means "all agencies" (an administrator, or the CLI run by an operator with no
agency set); otherwise searches are scoped to the cameras that agency may see
(:mod:`pipelines.governance.scope`). The CLI, the app and notebooks build the context; the search
library checks it (:func:`pipelines.governance.audit.require_case`) and audits every search.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass

ROLES = ("investigator", "analyst", "supervisor", "engineer", "admin")
DEFAULT_ROLE = "investigator"

ENV_USER = "PESQUISA_USER"
ENV_ROLE = "PESQUISA_ROLE"
ENV_AGENCY = "PESQUISA_AGENCY"
ENV_CASE = "PESQUISA_CASE"
ENV_PURPOSE = "PESQUISA_PURPOSE"


@dataclass(frozen=True)
class SearchContext:
    """The identity, case number and purpose behind a search."""

    user: str
    role: str = DEFAULT_ROLE
    agency: str | None = None
    case_number: str = ""
    purpose: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    @property
    def sees_all_agencies(self) -> bool:
        """Administrators and contexts without an agency see every camera."""
        return self.role == "admin" or not self.agency

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return os.environ.get("USER") or "unknown"


def context_from_env(
    *,
    user: str | None = None,
    role: str | None = None,
    agency: str | None = None,
    case_number: str | None = None,
    purpose: str | None = None,
    environ: dict[str, str] | None = None,
) -> SearchContext:
    """Build a context from explicit values, falling back to ``PESQUISA_USER`` / ``PESQUISA_ROLE`` /
    ``PESQUISA_AGENCY`` / ``PESQUISA_CASE`` / ``PESQUISA_PURPOSE`` (user defaults to the OS user,
    role to ``investigator``, agency to None = all). A missing case number is NOT an error here:
    the search refuses it (so the refusal happens in one place)."""
    env = os.environ if environ is None else environ
    return SearchContext(
        user=_clean(user) or _clean(env.get(ENV_USER)) or os_user(),
        role=(_clean(role) or _clean(env.get(ENV_ROLE)) or DEFAULT_ROLE).lower(),
        agency=_clean(agency) or _clean(env.get(ENV_AGENCY)),
        case_number=_clean(case_number) or _clean(env.get(ENV_CASE)) or "",
        purpose=_clean(purpose) or _clean(env.get(ENV_PURPOSE)) or "",
    )
