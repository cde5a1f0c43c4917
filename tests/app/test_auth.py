"""Users file: bcrypt hashes only, roles and agencies validated, first-run creation."""

from __future__ import annotations

import pytest

from app.auth import (
    DEMO_PASSWORD,
    UsersFileError,
    add_user,
    authenticate,
    change_password,
    ensure_users_file,
    load_users,
)


def test_add_and_authenticate(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ana", "s3cret-pass", "investigator", "police911", name="Ana")
    text = path.read_text()
    assert "s3cret-pass" not in text and "$2b$" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    user = authenticate(path, "ana", "s3cret-pass")
    assert user is not None and (user.role, user.agency, user.scope_agency) == (
        "investigator",
        "police911",
        "police911",
    )
    assert authenticate(path, "ana", "wrong") is None
    assert authenticate(path, "nobody", "s3cret-pass") is None
    assert authenticate(path, "ana", "") is None


def test_admin_scope_is_all_agencies(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "root", "pw-root-1", "admin", "municipal")
    assert authenticate(path, "root", "pw-root-1").scope_agency is None


def test_ensure_users_file_creates_only_admin_who_must_change_password(tmp_path):
    path = tmp_path / "home" / "users.yaml"
    pw = ensure_users_file(path)
    assert pw and len(pw) >= 12
    assert set(load_users(path)) == {"admin"}  # no demo account outside the demo
    admin = authenticate(path, "admin", pw)
    assert admin.is_admin and admin.must_change_password
    assert ensure_users_file(path) is None  # existing file: nothing printed, nothing changed
    with pytest.raises(UsersFileError, match="at least"):
        change_password(path, "admin", pw, "short")
    with pytest.raises(UsersFileError, match="wrong"):
        change_password(path, "admin", "not-it", "a-long-new-password")
    assert not change_password(path, "admin", pw, "a-long-new-password").must_change_password
    assert authenticate(path, "admin", pw) is None
    assert not authenticate(path, "admin", "a-long-new-password").must_change_password
    fixed = tmp_path / "demo.yaml"
    assert ensure_users_file(fixed, password=DEMO_PASSWORD, demo=True) == DEMO_PASSWORD
    assert set(load_users(fixed)) == {"demo", "admin"}
    assert authenticate(fixed, "admin", DEMO_PASSWORD).is_admin


@pytest.mark.parametrize(
    "body, problem",
    [
        ("users: [1, 2]", "mapping"),
        ("users:\n  x: {role: chief, agency: a, password_hash: $2b$12$abc}", "role"),
        ("users:\n  x: {role: analyst, agency: a, password_hash: plain}", "bcrypt"),
        ("users:\n  x: {role: analyst, password_hash: $2b$12$abc}", "agency"),
        ("users: {x: [", "YAML"),
    ],
)
def test_bad_users_file_is_explained(tmp_path, body, problem):
    path = tmp_path / "users.yaml"
    path.write_text(body)
    with pytest.raises(UsersFileError, match=problem):
        load_users(path)


def test_add_user_rejects_bad_input(tmp_path):
    path = tmp_path / "users.yaml"
    with pytest.raises(UsersFileError, match="role"):
        add_user(path, "x", "pw-123456", "boss", "a")
    with pytest.raises(UsersFileError, match="agency"):
        add_user(path, "x", "pw-123456", "analyst", None)
    with pytest.raises(UsersFileError, match="user name"):
        add_user(path, "x y", "pw-123456", "analyst", "a")
