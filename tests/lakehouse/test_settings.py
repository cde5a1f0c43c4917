"""Typed settings: precedence (defaults < HOME/pesquisa.yaml < environment), unknown keys and out of
bound values refused with the source named, secrets redacted, `pesquisa config show`, and per-camera
settings validated where they enter (`cameras import`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.cli import main
from lakehouse.settings import SettingsError, load_settings


def _home(tmp_path: Path, yaml_text: str | None = None) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    if yaml_text is not None:
        (home / "pesquisa.yaml").write_text(yaml_text)
    return home


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    home = _home(tmp_path, "time:\n  zone: America/Asuncion\nsearch:\n  face_nprobe: 40\n")
    s = load_settings(home, environ={})
    assert s.time.zone == "America/Asuncion" and s.search.face_nprobe == 40
    assert s.search.face_ef_search == 64  # default
    src = {r["key"]: r["source"] for r in s.show()}
    assert src["time.zone"].endswith("pesquisa.yaml") and src["search.face_ef_search"] == "default"

    env = {"PESQUISA_TZ": "America/Lima", "PESQUISA__SEARCH__FACE_NPROBE": "8"}
    s = load_settings(home, environ=env)
    assert s.time.zone == "America/Lima" and s.search.face_nprobe == 8
    src = {r["key"]: r["source"] for r in s.show()}
    assert (
        src["time.zone"] == "env PESQUISA_TZ"
        and src["search.face_nprobe"] == "env PESQUISA__SEARCH__FACE_NPROBE"
    )


def test_unknown_keys_and_bad_values_are_refused_naming_the_source(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"search.face_nprob"):
        load_settings(_home(tmp_path, "search:\n  face_nprob: 3\n"), environ={})
    with pytest.raises(SettingsError, match="env PESQUISA__APP__BCRYPT_ROUNDS"):
        load_settings(tmp_path / "other", environ={"PESQUISA__APP__BCRYPT_ROUNDS": "99"})  # bound 4..16
    with pytest.raises(SettingsError, match="unknown time zone"):
        load_settings(tmp_path / "tz", environ={"PESQUISA_TZ": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="PESQUISA__NOPE"):
        load_settings(tmp_path / "x", environ={"PESQUISA__NOPE": "1"})
    with pytest.raises(SettingsError, match="not a day"):
        load_settings(tmp_path / "y", environ={"PESQUISA_PARTITIONS_START": "soon"})


def test_secrets_are_redacted_and_config_show_reports_sources(tmp_path: Path, capsys, monkeypatch) -> None:
    home = _home(tmp_path, "storage:\n  storage_options:\n    AWS_SECRET_ACCESS_KEY: hunter2\n")
    monkeypatch.setenv("PESQUISA_BCRYPT_ROUNDS", "5")
    assert main(["--home", str(home), "--json", "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    rows = {r["key"]: r for r in map(json.loads, out.strip().splitlines())}
    assert rows["storage.storage_options"]["value"] == {"AWS_SECRET_ACCESS_KEY": "***"}
    assert rows["app.bcrypt_rounds"] == {
        **rows["app.bcrypt_rounds"],
        "value": 5,
        "source": "env PESQUISA_BCRYPT_ROUNDS",
    }
    assert rows["time.zone"]["source"] == "default" and rows["time.zone"]["description"]
    # the secret still reaches delta-rs
    from lakehouse import Lakehouse

    assert Lakehouse(home=home).storage.storage_options == {"AWS_SECRET_ACCESS_KEY": "hunter2"}
    (home / "pesquisa.yaml").write_text("storage:\n  bogus: 1\n")
    assert main(["--home", str(home), "config", "show"]) == 2
    assert "storage.bogus" in capsys.readouterr().err


def test_cameras_import_refuses_an_unknown_plate_preset(tmp_path: Path, capsys) -> None:
    home = str(tmp_path / "h")
    bad = tmp_path / "cams.csv"
    bad.write_text(
        "camera_id,agency,lat,lon,plate_format\nc1,municipal,-25.3,-57.6,PY\nc2,municipal,-25.3,-57.6,ZZ\n"
    )
    assert main(["--home", home, "cameras", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "plate_format 'ZZ' is not a known preset" in err and "PY" in err
    from lakehouse import Lakehouse

    assert not Lakehouse(home=home).exists("cameras") or Lakehouse(home=home).count("cameras") == 0
    good = tmp_path / "ok.csv"
    good.write_text("camera_id,agency,lat,lon,plate_format\nc1,municipal,-25.3,-57.6,py\n")
    assert main(["--home", home, "--json", "cameras", "import", str(good)]) == 0
    assert Lakehouse(home=home).read("cameras", columns=["plate_format"]).to_pylist() == [
        {"plate_format": "PY"}
    ]


def test_per_camera_settings_are_validated_stored_and_used(tmp_path: Path, capsys) -> None:
    from lakehouse import Lakehouse
    from pipelines.extract.ingest import camera_settings

    home = str(tmp_path / "h")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "camera_id,agency,lat,lon,sample_fps,gating\nc1,municipal,-25.3,-57.6,0,region\n"
        "c2,municipal,-25.3,-57.6,5,sometimes\n"
    )
    assert main(["--home", home, "cameras", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 2: sample_fps" in err and "line 3: gating" in err
    good = tmp_path / "ok.csv"
    good.write_text(
        "camera_id,agency,lat,lon,kind,sample_fps,gating\nc1,municipal,-25.3,-57.6,portico,2.5,FRAME\n"
        "c2,municipal,-25.3,-57.6,street,,\n"
    )
    assert main(["--home", home, "cameras", "import", str(good)]) == 0
    lh = Lakehouse(home=home)
    one, two = camera_settings(lh, "c1"), camera_settings(lh, "c2")
    assert (one.sample_fps, one.gating, one.kind) == (2.5, "frame", "portico")
    assert (two.sample_fps, two.gating) == (None, None)  # ingest falls back to the kind's rate and region
