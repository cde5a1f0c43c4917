"""Evidence export (issue 12.6, DESIGN.md §8): a signed, verifiable package of clips, frames, crops,
metadata and a report, bystanders masked by default.

- :func:`export_evidence` / :class:`ExportRequest` — the one call behind ``pesquisa export`` and the
  app's export buttons (:mod:`~pipelines.governance.export.evidence`);
- :func:`verify_package` — ``pesquisa export verify`` (:mod:`~pipelines.governance.export.package`);
- :mod:`~pipelines.governance.export.masking` — blurring bystanders' faces and other plates;
- :mod:`~pipelines.governance.export.clips` — cutting clips with PyAV.

Signing keys (per agency, public key registered) live in :mod:`pipelines.governance.keys`.
"""

from pipelines.governance.export.evidence import (
    ExportError,
    ExportRefused,
    ExportRequest,
    ExportResult,
    export_evidence,
)
from pipelines.governance.export.package import VerifyResult, verify_members, verify_package

__all__ = [
    "ExportError",
    "ExportRefused",
    "ExportRequest",
    "ExportResult",
    "VerifyResult",
    "export_evidence",
    "verify_members",
    "verify_package",
]
