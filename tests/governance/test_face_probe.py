"""A face search's audit row carries the probe photo's SHA-256 (no biometric data) and the photo is
kept with the case, owner-only; a case whose warrant names probe photos refuses any other photo
(issue 12.3)."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.governance import SearchContext, audit_rows
from pipelines.governance.cases import ScopeRefused, open_case, probes_dir
from pipelines.governance.scope import ReadScope
from pipelines.search.faces import FaceQuery, search_faces

CTX = SearchContext(user="ana", role="investigator", agency="police911", case_number="F-1", purpose="assault")


def photo(tmp_path, seed: int):
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    p = tmp_path / f"probe{seed}.png"
    p.write_bytes(buf.getvalue())
    return p, hashlib.sha256(buf.getvalue()).hexdigest()


def test_probe_hash_in_audit_and_kept_with_the_case(lakehouse, tmp_path):
    lakehouse.append("cameras", [{"camera_id": "P1", "agency": "police911"}])
    p, sha = photo(tmp_path, 1)
    res = search_faces(
        lakehouse, FaceQuery(image=str(p), k=5), ReadScope.of(CTX)
    )  # real detector: no face in noise
    assert not res.face_found and res.hits == []
    row = audit_rows(lakehouse, action="faces.search")[0]
    assert row["probe_sha256"] == sha and row["result_digest"] and json.loads(row["table_versions"])
    kept = list(probes_dir(lakehouse, "F-1").iterdir())
    assert [k.name for k in kept] == [f"{sha}.png"] and oct(kept[0].stat().st_mode & 0o777) == "0o600"
    assert "embedding" not in row["parameters"]


def test_warrant_faces_refuse_another_photo(lakehouse, tmp_path):
    lakehouse.append("cameras", [{"camera_id": "P1", "agency": "police911"}])
    allowed, sha = photo(tmp_path, 2)
    other, other_sha = photo(tmp_path, 3)
    open_case(lakehouse, CTX, "F-1", "assault", faces=[str(allowed)])
    with pytest.raises(ScopeRefused, match="probe photo"):
        search_faces(lakehouse, FaceQuery(image=str(other), k=5), ReadScope.of(CTX))
    refused = audit_rows(lakehouse, action="faces.search")[0]
    assert refused["outcome"] == "refused" and refused["case_number"] == "F-1"
    assert json.loads(refused["parameters"])["probe_sha256"] == other_sha
    assert sha in {p.name.split(".")[0] for p in probes_dir(lakehouse, "F-1").iterdir()}
