"""Governance: who acts, what they may see and do, under which case, and the tamper-evident log
(DESIGN.md §8, issue 12).

- :mod:`~pipelines.governance.identity` — proven identity (login token / users file / services),
  the roles-permissions table;
- :class:`SearchContext` / :func:`context_from_env` — identity, role, agency, case and purpose;
- :mod:`~pipelines.governance.agreements` — sharing agreements (the one source of cross-agency
  visibility); :mod:`~pipelines.governance.scope` — :func:`camera_scope` / ``ReadScope.cameras``;
- :mod:`~pipelines.governance.cases` — cases and warrant scope, checked in one place;
- :func:`require_case` / :func:`audit` / :func:`audit_rows` — the audit log, hash-chained and
  anchored (:mod:`~pipelines.governance.audit_chain`).
"""

from pipelines.governance.audit import (
    CASE_REQUIRED_MESSAGE,
    PURPOSE_REQUIRED_MESSAGE,
    MissingCaseError,
    MissingPurposeError,
    audit,
    audit_refusal,
    audit_rows,
    require_case,
)
from pipelines.governance.context import SearchContext, context_from_env
from pipelines.governance.identity import ROLES, IdentityError, PermissionDenied, require_permission
from pipelines.governance.scope import CameraScope, camera_scope, visible_cameras

__all__ = [
    "CASE_REQUIRED_MESSAGE",
    "PURPOSE_REQUIRED_MESSAGE",
    "ROLES",
    "CameraScope",
    "IdentityError",
    "MissingCaseError",
    "MissingPurposeError",
    "PermissionDenied",
    "SearchContext",
    "audit",
    "audit_refusal",
    "audit_rows",
    "camera_scope",
    "context_from_env",
    "require_case",
    "require_permission",
    "visible_cameras",
]
