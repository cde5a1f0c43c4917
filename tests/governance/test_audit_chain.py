"""Tamper-evident audit (issue 12.4): append-only table, hash chain by Delta version, signed daily
anchors; `pesquisa audit verify` finds the first broken link of each attack."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.governance import SearchContext, audit
from pipelines.governance.audit_chain import legacy_seal, row_hash, verify_chain
from pipelines.governance.identity import map_os_user


def ctx(case: str = "C-1") -> SearchContext:
    return SearchContext(
        user="ana", role="investigator", agency="police911", case_number=case, purpose="robbery"
    )


def fill(lh: Lakehouse, n: int = 5) -> None:
    for i in range(n):
        audit(lh, ctx(f"C-{i}"), "plates.search", {"pattern": f"ABC{i}"}, i, result_ids=[f"r{i}", f"s{i}"])


def open_up(lh: Lakehouse) -> DeltaTable:
    """What an attacker with write access to the table files does first."""
    t = lh.table("audit_log")
    t.alter.set_table_properties({"delta.appendOnly": "false"})
    return DeltaTable(lh.uri("audit_log"))


def test_chain_rows_and_verify_intact(lakehouse):
    fill(lakehouse)
    rows = sorted(lakehouse.read("audit_log").to_pylist(), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == "0" * 64 and rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert all(r["row_hash"] == row_hash(r) for r in rows)
    assert [r["delta_version"] for r in rows] == sorted({r["delta_version"] for r in rows})
    assert rows[2]["result_digest"] and "r2" not in json.dumps(rows[2]["result_digest"])
    rep = verify_chain(lakehouse)
    assert rep.ok and rep.chained == 5 and rep.anchors == 1, rep.problems
    with pytest.raises(Exception, match="append-only"):
        lakehouse.table("audit_log").delete("seq = 2")


def test_verify_detects_an_edited_row(lakehouse):
    fill(lakehouse)
    open_up(lakehouse).update(predicate="seq = 3", updates={"result_count": "0"})
    rep = verify_chain(lakehouse)
    assert not rep.ok and rep.first_broken["seq"] == 3 and "edited" in rep.first_broken["problem"]


def test_verify_detects_a_deleted_row(lakehouse):
    fill(lakehouse)
    open_up(lakehouse).delete("seq = 2")
    rep = verify_chain(lakehouse)
    assert not rep.ok and rep.first_broken["seq"] == 3 and "missing" in rep.first_broken["problem"]


def test_verify_detects_an_inserted_row(lakehouse):
    fill(lakehouse)
    row = sorted(lakehouse.read("audit_log").to_pylist(), key=lambda r: r["seq"])[3]
    forged = {**row, "audit_id": "f" * 32, "action": "plates.search", "parameters": '{"pattern": "XYZ999"}'}
    forged["row_hash"] = row_hash(forged)
    write_deltalake(
        lakehouse.uri("audit_log"),
        pa.Table.from_pylist([forged], schema=lakehouse.read("audit_log").schema),
        mode="append",
        partition_by=["date"],
    )
    rep = verify_chain(lakehouse)
    assert not rep.ok and rep.first_broken["seq"] == 4 and "inserted" in rep.first_broken["problem"]


def test_anchor_catches_an_edited_and_rechained_table(lakehouse):
    fill(lakehouse)
    rows = sorted(lakehouse.read("audit_log").to_pylist(), key=lambda r: r["seq"])
    rows[1]["parameters"] = '{"pattern": "innocent"}'
    prev = rows[0]["row_hash"]
    for r in rows[1:]:  # re-chain every later row so the chain itself is consistent again
        r["prev_hash"] = prev
        r["row_hash"] = row_hash(r)
        prev = r["row_hash"]
    schema = lakehouse.read("audit_log").schema
    t = open_up(lakehouse)
    write_deltalake(t, pa.Table.from_pylist(rows, schema=schema), mode="overwrite", partition_by=["date"])
    DeltaTable(lakehouse.uri("audit_log")).alter.set_table_properties({"delta.appendOnly": "true"})
    rep = verify_chain(lakehouse)
    assert not rep.ok
    assert any("signed anchor" in p for p in rep.problems), rep.problems
    # and the anchor cannot be re-signed without the key: a forged anchor is rejected
    from pipelines.governance.audit_chain import anchors_dir

    f = next(anchors_dir(lakehouse).glob("*.json"))
    a = json.loads(f.read_text())
    a["row_hash"] = rows[-1]["row_hash"]
    f.write_text(json.dumps(a))
    rep = verify_chain(lakehouse)
    assert any("not validly signed" in p for p in rep.problems)


WRITER = """
import sys
from lakehouse import Lakehouse
from pipelines.governance import SearchContext, audit
lh = Lakehouse(home=sys.argv[1])
for i in range(4):
    audit(lh, SearchContext(user=sys.argv[2], role="investigator", agency="a", case_number=f"K-{i}", purpose="p"),
          "plates.search", {}, 0)
"""


def test_concurrent_writers_cannot_fork_the_chain(tmp_path):
    home = str(tmp_path / "home")
    Lakehouse(home=home).ensure("audit_log")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, home, who], env=env) for who in ("p1", "p2")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    lh = Lakehouse(home=home)
    rep = verify_chain(lh)
    assert rep.ok and rep.chained == 8, rep.problems
    assert sorted(r["seq"] for r in lh.read("audit_log").to_pylist()) == list(range(1, 9))


def test_existing_home_is_migrated_and_sealed(tmp_path):
    home = tmp_path / "old"
    uri = str(home / "tables" / "audit_log")
    legacy = pa.table(
        {
            "audit_id": ["a1", "a2"],
            "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "user": ["u", "u"],
            "role": ["investigator"] * 2,
            "agency": ["x", "x"],
            "case_number": ["K", "K"],
            "purpose": ["p", "p"],
            "action": ["plates.search"] * 2,
            "parameters": ["{}", "{}"],
            "result_count": [1, 2],
            "date": pa.array([dt.date(2024, 1, 1)] * 2, pa.date32()),
        }
    )
    write_deltalake(uri, legacy, partition_by=["date"], configuration={"delta.enableChangeDataFeed": "true"})
    lh = Lakehouse(home=home)
    audit(lh, ctx(), "plates.search", {}, 0)
    assert lh.table("audit_log").metadata().configuration["delta.appendOnly"] == "true"
    first = [r for r in lh.read("audit_log").to_pylist() if r["seq"] == 1][0]
    assert first["prev_hash"] == legacy_seal(legacy.to_pylist()) and first["os_user"]
    assert verify_chain(lh).ok
    open_up(lh).update(predicate="audit_id = 'a1'", updates={"result_count": "7"})
    rep = verify_chain(lh)
    assert not rep.ok and rep.first_broken["seq"] == 1


def test_cli_verify_exit_codes(tmp_path, capsys, cli_user):
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    fill(lh, 3)
    map_os_user(home, "aud", role="supervisor", agency="police911")
    assert main(["--home", str(home), "audit", "verify"]) == 0
    assert "intact: 3 chained rows" in capsys.readouterr().out
    open_up(lh).delete("seq = 1")
    assert main(["--home", str(home), "--json", "audit", "verify"]) == 1
    rec = json.loads(capsys.readouterr().out)
    assert not rec["ok"] and rec["first_broken"]["seq"] == 2


def test_maintenance_never_touches_the_audit_log(lakehouse):
    from lakehouse import maintenance

    fill(lakehouse, 3)
    v = lakehouse.version("audit_log")
    maintenance.compact(lakehouse)
    maintenance.checkpoint(lakehouse, ["audit_log"])
    maintenance.vacuum(lakehouse, ["audit_log"], retention_hours=0)
    maintenance.retention(lakehouse, {"audit_log": 0})
    assert lakehouse.version("audit_log") == v and verify_chain(lakehouse).ok
