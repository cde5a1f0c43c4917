"""Governance fixtures: a home whose users file maps the OS user running the tests explicitly (CI
runs as root, and root maps to nobody unless configured), tokens kept in the test's tmp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _tokens_in_tmp(tmp_path, monkeypatch):
    from pipelines.governance import identity

    monkeypatch.setattr(identity, "_token_base", lambda osu: tmp_path / "os-home" / osu)
    monkeypatch.setenv("PESQUISA_BCRYPT_ROUNDS", "4")
    for name in (
        "PESQUISA_USER",
        "PESQUISA_ROLE",
        "PESQUISA_AGENCY",
        "PESQUISA_CASE",
        "PESQUISA_PURPOSE",
        "PESQUISA_USERS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h
