"""Governance: who may search what, the case-number requirement and the audit log (DESIGN.md §8).

- :class:`SearchContext` / :func:`context_from_env` — identity, role, agency, case and purpose;
- :func:`require_case` / :func:`audit` / :func:`audit_rows` — refusal without a case, append-only log;
- :func:`camera_scope` — the cameras an agency may see (own + shared with it).
"""

from pipelines.governance.audit import (
    CASE_REQUIRED_MESSAGE,
    PURPOSE_REQUIRED_MESSAGE,
    MissingCaseError,
    MissingPurposeError,
    audit,
    audit_rows,
    require_case,
)
from pipelines.governance.context import ROLES, SearchContext, context_from_env
from pipelines.governance.scope import CameraScope, camera_scope, visible_cameras

__all__ = [
    "CASE_REQUIRED_MESSAGE",
    "PURPOSE_REQUIRED_MESSAGE",
    "ROLES",
    "CameraScope",
    "MissingCaseError",
    "MissingPurposeError",
    "SearchContext",
    "audit",
    "audit_rows",
    "camera_scope",
    "context_from_env",
    "require_case",
    "visible_cameras",
]
