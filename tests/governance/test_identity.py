"""Identity (issue 12.1): a proven user for every CLI and library call; flags and the environment
can only narrow it; roles are enforced by the library."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.auth import add_user
from jobs.cli import main
from lakehouse import Lakehouse
from pipelines.governance import context_from_env
from pipelines.governance.identity import (
    IdentityError,
    PermissionDenied,
    current_identity,
    login,
    map_os_user,
    narrow,
    os_user,
    require_permission,
    service_identity,
    sign_token,
    token_path,
    users_file,
)


def test_os_user_maps_through_the_users_file_and_nobody_else(home):
    with pytest.raises(IdentityError, match="not a known Pesquisa user"):
        current_identity(home)  # no users file: root (CI) or anyone else maps to nobody
    map_os_user(home, "ana", role="investigator", agency="police911", os_users=["someone-else"])
    with pytest.raises(IdentityError, match=os_user()):
        current_identity(home)  # root is NOT mapped implicitly
    map_os_user(home, "ana", role="investigator", agency="police911")
    ident = current_identity(home)
    assert (ident.user, ident.role, ident.agency, ident.source, ident.os_user) == (
        "ana",
        "investigator",
        "police911",
        "users-file",
        os_user(),
    )


def test_flags_and_environment_only_narrow(home, monkeypatch):
    map_os_user(home, "ana", role="investigator", agency="police911")
    ident = current_identity(home)
    for kw in ({"user": "boss"}, {"role": "admin"}, {"role": "supervisor"}, {"agency": "municipal"}):
        with pytest.raises(IdentityError):
            narrow(ident, **kw)
        with pytest.raises(IdentityError):
            context_from_env(home=home, **kw)
    assert narrow(ident, role="analyst").role == "analyst"  # fewer permissions: allowed
    assert narrow(ident, user="ana", agency="police911") == ident
    for env, val in (("PESQUISA_USER", "boss"), ("PESQUISA_ROLE", "admin"), ("PESQUISA_AGENCY", "municipal")):
        monkeypatch.setenv(env, val)
        with pytest.raises(IdentityError):
            context_from_env(home=home)
        monkeypatch.delenv(env)
    # a users file named by the environment cannot make anyone admin
    rogue = home.parent / "rogue.yaml"
    rogue.write_text(json.dumps({"users": {"evil": {"role": "admin", "os_users": [os_user()]}}}))
    monkeypatch.setenv("PESQUISA_USERS_FILE", str(rogue))
    monkeypatch.setenv("PESQUISA_APP__USERS_FILE", str(rogue))
    assert users_file(home) == home / "users.yaml"
    assert context_from_env(home=home).user == "ana"


def test_admin_may_narrow_to_one_agency_and_nobody_else_is_all_agencies(home):
    map_os_user(home, "root-admin", role="admin", agency=None)
    ctx = context_from_env(home=home)
    assert ctx.sees_all_agencies and ctx.agency is None
    narrowed = context_from_env(home=home, agency="municipal")
    assert narrowed.agency == "municipal" and not narrowed.sees_all_agencies
    demoted = context_from_env(home=home, role="investigator")  # narrowed role, no agency: sees nothing
    assert demoted.role == "investigator" and not demoted.sees_all_agencies


def test_login_token_signed_expiring_and_bound(home):
    add_user(users_file(home), "bea", "pw-bea-123", "supervisor", "municipal")
    with pytest.raises(IdentityError, match="wrong password"):
        login(home, "bea", "nope")
    path = login(home, "bea", "pw-bea-123", hours=1)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct((home / "keys" / "identity.key").stat().st_mode & 0o777) == "0o600"
    ident = current_identity(home)
    assert (ident.user, ident.role, ident.agency, ident.source) == ("bea", "supervisor", "municipal", "token")
    good = path.read_text()
    body, sig = good.split(".")
    forged = json.loads(__import__("base64").urlsafe_b64decode(body + "=="))
    forged["user"] = "admin"
    import base64

    path.write_text(base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=") + "." + sig)
    with pytest.raises(IdentityError, match="signature"):
        current_identity(home)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    path.write_text(sign_token(home, "bea", hours=1, now=past))
    with pytest.raises(IdentityError, match="expired"):
        current_identity(home)
    path.write_text(sign_token(home, "bea", osu="mallory"))
    with pytest.raises(IdentityError, match="another OS user"):
        current_identity(home)
    other = home.parent / "other-home"
    other.mkdir()
    add_user(users_file(other), "bea", "pw-bea-123", "supervisor", "municipal")
    token_path(other).parent.mkdir(parents=True, exist_ok=True)
    token_path(other).write_text(good)  # a token of one home is worthless in another
    with pytest.raises(IdentityError):
        current_identity(other)


def test_roles_enforced_by_the_library(home):
    require_permission("investigator", "search")
    for role, action in (
        ("engineer", "search"),
        ("analyst", "export"),
        ("investigator", "administer"),
        ("investigator", "unmask"),
        ("analyst", "watchlist"),
    ):
        with pytest.raises(PermissionDenied):
            require_permission(role, action)


def test_services_run_as_named_identities(home):
    svc = service_identity(home, "dagster")
    assert (svc.user, svc.role, svc.source) == ("svc-dagster", "engineer", "service")
    assert service_identity(home, "stream").user == "svc-stream"
    with pytest.raises(IdentityError):
        service_identity(home, "root")
    import yaml

    users_file(home).write_text(
        yaml.safe_dump(
            {"users": {"svc-stream": {"role": "engineer", "agency": "police911", "service": True}}}
        )
    )
    svc = service_identity(home, "stream")  # the users file may configure the service identity
    assert (svc.user, svc.agency, svc.source) == ("svc-stream", "police911", "service")
    with pytest.raises(IdentityError):  # and a service entry never maps an OS account
        current_identity(home)


def test_cli_whoami_login_and_unknown_user(home, capsys):
    assert main(["--home", str(home), "whoami"]) == 2
    assert "not a known Pesquisa user" in capsys.readouterr().err
    map_os_user(home, "ana", role="investigator", agency="police911")
    assert main(["--home", str(home), "--json", "whoami"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["user"] == "ana" and rec["os_user"] == os_user() and "administer" not in rec["may"]
    # a widening flag on a search is refused before anything is read
    rc = main(
        [
            "--home",
            str(home),
            "plates",
            "search",
            "ABC123",
            "--case",
            "C1",
            "--purpose",
            "x",
            "--role",
            "admin",
        ]
    )
    assert rc == 2 and "widen" in capsys.readouterr().err
    # nothing was read; the attempt is logged as a refusal under the proven identity
    (row,) = Lakehouse(home=home).read("audit_log").to_pylist()
    assert (row["user"], row["role"], row["outcome"]) == ("ana", "investigator", "refused")
    assert "widen" in row["reason"] and row["result_count"] == 0


def test_app_add_user_maps_an_os_account(home, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        main(
            [
                "--home",
                str(home),
                "app",
                "--add-user",
                "ana",
                "--role",
                "investigator",
                "--agency",
                "police911",
                "--os-user",
                os_user(),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--home", str(home), "--json", "whoami"]) == 0
    assert json.loads(capsys.readouterr().out)["user"] == "ana"
