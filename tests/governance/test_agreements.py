"""Sharing agreements as data (issue 12.2): admins create and revoke them (audited); they are the one
source of cross-agency visibility, per data type and time; `cameras.shared_with` is migrated."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from jobs.cli import main
from pipelines.governance import PermissionDenied, SearchContext, audit_rows, camera_scope
from pipelines.governance.agreements import AgreementError, add_agreement, all_agreements, revoke_agreement
from pipelines.governance.identity import map_os_user

CAMS = [
    {"camera_id": "p1", "agency": "police911", "shared_with": []},
    {"camera_id": "m1", "agency": "municipal", "shared_with": []},
    {"camera_id": "m2", "agency": "municipal", "shared_with": []},
]
ADMIN = SearchContext(user="root-admin", role="admin")
POLICE = SearchContext(user="ana", role="investigator", agency="police911")


def test_only_admins_create_and_revoke_and_it_is_audited(lakehouse):
    lakehouse.append("cameras", CAMS)
    with pytest.raises(PermissionDenied):
        add_agreement(
            lakehouse, POLICE, from_agency="municipal", to_agency="police911", data_types=["plates"]
        )
    for bad in ({"data_types": ["dna"]}, {"data_types": []}, {"to_agency": "municipal"}):
        with pytest.raises(AgreementError):
            add_agreement(
                lakehouse,
                ADMIN,
                **{"from_agency": "municipal", "to_agency": "police911", "data_types": ["plates"], **bad},
            )
    row = add_agreement(
        lakehouse,
        ADMIN,
        from_agency="municipal",
        to_agency="police911",
        data_types=["plates"],
        cameras=["m1"],
        note="MoU 2024/7",
    )
    assert camera_scope(lakehouse, POLICE, "plates").cameras == {"p1", "m1"}
    assert camera_scope(lakehouse, POLICE, "faces").cameras == {"p1"}  # faces were not shared
    revoke_agreement(lakehouse, ADMIN, row["agreement_id"])
    assert camera_scope(lakehouse, POLICE, "plates").cameras == {"p1"}
    with pytest.raises(AgreementError, match="already revoked"):
        revoke_agreement(lakehouse, ADMIN, row["agreement_id"])
    done = [r for r in audit_rows(lakehouse) if r["outcome"] == "ok"]
    assert [r["action"] for r in done] == ["share.revoke", "share.add"]
    assert all(r["user"] == "root-admin" and r["os_user"] for r in done)
    refused = [r for r in audit_rows(lakehouse) if r["outcome"] == "refused"]  # the investigator's try
    assert [(r["action"], r["user"]) for r in refused] == [("share.add", "ana")]


def test_validity_window_and_all_cameras(lakehouse):
    lakehouse.append("cameras", CAMS)
    now = dt.datetime.now(dt.UTC)
    add_agreement(
        lakehouse,
        ADMIN,
        from_agency="municipal",
        to_agency="police911",
        data_types=["faces"],
        valid_from=now - dt.timedelta(days=10),
        valid_to=now - dt.timedelta(days=1),
    )
    assert camera_scope(lakehouse, POLICE, "faces").cameras == {"p1"}  # expired yesterday
    add_agreement(
        lakehouse,
        ADMIN,
        from_agency="municipal",
        to_agency="police911",
        data_types=["faces"],
        valid_from=now + dt.timedelta(days=1),
    )
    assert camera_scope(lakehouse, POLICE, "faces").cameras == {"p1"}  # not yet in force
    add_agreement(lakehouse, ADMIN, from_agency="municipal", to_agency="police911", data_types=["faces"])
    s = camera_scope(lakehouse, POLICE, "faces")
    assert s.cameras == {"p1", "m1", "m2"}
    assert s.allows("never-registered", "municipal")  # an all-camera agreement covers every municipal row


def test_row_level_visibility_own_rows_anywhere_others_never(lakehouse):
    lakehouse.append("cameras", CAMS)
    s = camera_scope(lakehouse, POLICE, "plates")
    cams = np.array(["p1", "u9", "p1", "m1", "p1"], dtype=object)
    ags = np.array(["police911", "police911", "municipal", "municipal", None], dtype=object)
    # own row, own row at an unregistered camera, NOT municipal's row at a police camera, NOT m1, own camera w/o agency
    assert s.mask(cams, ags).tolist() == [True, True, False, False, True]
    assert [s.allows(c, a) for c, a in zip(cams, ags, strict=True)] == [True, True, False, False, True]
    import duckdb

    con = duckdb.connect()
    con.execute("create table t(camera_id varchar, agency varchar)")
    con.executemany("insert into t values (?, ?)", list(zip(cams.tolist(), ags.tolist(), strict=True)))
    assert con.execute(f"select count(*) from t where {s.sql()}").fetchone()[0] == 3
    nobody = camera_scope(lakehouse, SearchContext(user="x", role="investigator", agency=None), "plates")
    assert (
        not nobody.mask(cams, ags).any()
        and con.execute(f"select count(*) from t where {nobody.sql()}").fetchone()[0] == 0
    )


def test_shared_with_is_migrated_once(lakehouse):
    lakehouse.append("cameras", [{**CAMS[1], "shared_with": ["police911"]}, CAMS[0]])
    assert camera_scope(lakehouse, POLICE, "plates").cameras == {"p1", "m1"}
    rows = all_agreements(lakehouse)
    assert len(rows) == 1 and rows[0]["created_by"] == "migration" and rows[0]["cameras"] == ["m1"]
    revoke_agreement(lakehouse, ADMIN, rows[0]["agreement_id"])
    assert camera_scope(lakehouse, POLICE, "plates").cameras == {"p1"}  # the revoked one is not re-created
    assert len(all_agreements(lakehouse)) == 1


def test_cli_share(tmp_path, capsys):
    home = tmp_path / "home"
    from lakehouse import Lakehouse

    Lakehouse(home=home).append("cameras", CAMS)
    map_os_user(home, "ana", role="investigator", agency="police911")
    args = [
        "--home",
        str(home),
        "share",
        "add",
        "--from",
        "municipal",
        "--to",
        "police911",
        "--types",
        "plates,faces",
    ]
    assert main(args) == 3 and "may not administer" in capsys.readouterr().err
    map_os_user(home, "boss", role="admin", agency=None)
    assert main([*args, "--camera", "m2", "--valid-to", "2999-01-01"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "--json", "share", "list"]) == 0
    rec = json.loads(capsys.readouterr().out.splitlines()[0])
    assert rec["cameras"] == ["m2"] and rec["data_types"] == ["faces", "plates"]
    assert main(["--home", str(home), "share", "revoke", rec["agreement_id"]]) == 0
    assert main(["--home", str(home), "share", "add", "--from", "x", "--to", "y", "--types", "dna"]) == 2
