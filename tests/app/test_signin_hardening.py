"""App hardening (issue 12.7) through AppTest: the sign-in limiter is shared across sessions,
sessions are re-checked against the users file and time out, a first admin must change the
generated password."""

from __future__ import annotations

import time

import pytest
from app_testkit import APP_MAIN, PASSWORD, build_home, button, signed_in, titles
from streamlit.testing.v1 import AppTest

from app.auth import add_user, ensure_users_file, load_users


@pytest.fixture
def fresh_env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "pesquisa.yaml").write_text(
        "governance:\n  signin_max_failures: 3\n  signin_lockout_s: 60\n  session_idle_minutes: 0.05\n"
    )
    build_home(home)
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(home / "users.yaml"))
    monkeypatch.delenv("PESQUISA_TABLES_URI", raising=False)
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    return home


def _try(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input(key="signin_user").set_value(user)
    at.text_input(key="signin_password").set_value(password)
    button(at, "Sign in").click()
    return at.run()


def test_lockout_survives_a_new_browser_session_and_is_logged(fresh_env):
    at = AppTest.from_file(APP_MAIN, default_timeout=60).run()
    for _ in range(3):
        _try(at, "ana", "guess")
    assert "Too many failed attempts" in at.error[0].value
    fresh = AppTest.from_file(APP_MAIN, default_timeout=60).run()  # a new session does not reset it
    _try(fresh, "ana", PASSWORD)
    assert "pesquisa_user" not in fresh.session_state and "Too many failed attempts" in fresh.error[0].value
    assert (fresh_env / "logs" / "signin.log").read_text().count("signin.failed") == 4


def test_session_rechecked_against_the_users_file_and_idle_timeout(fresh_env):
    at = signed_in("sup")
    assert titles(at) != ["Pesquisa"]
    add_user(fresh_env / "users.yaml", "sup", PASSWORD, "analyst", "police911")  # demoted
    at.run()
    assert titles(at) == ["Pesquisa"] and "role or agency changed" in at.info[0].value
    at = signed_in("ali")
    assert titles(at) != ["Pesquisa"]
    time.sleep(3.2)  # idle timeout is 0.05 min in this home
    at.run()
    assert titles(at) == ["Pesquisa"] and "inactivity" in at.info[0].value


def test_first_admin_must_change_the_generated_password(tmp_path, monkeypatch):
    home = tmp_path / "h2"
    home.mkdir()
    users = home / "users.yaml"
    pw = ensure_users_file(users)
    monkeypatch.setenv("PESQUISA_HOME", str(home))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(users))
    monkeypatch.setenv("PESQUISA_MAP_STYLE", "none")
    at = signed_in("admin", pw)
    assert titles(at) == ["Change your password"] and not at.sidebar.button
    at.text_input(key="pw_old").set_value(pw)
    at.text_input(key="pw_new").set_value("my own long password")
    at.text_input(key="pw_again").set_value("my own long password")
    button(at, "Change password").click()
    at.run()
    assert titles(at) != ["Change your password"] and not load_users(users)["admin"][0].must_change_password
