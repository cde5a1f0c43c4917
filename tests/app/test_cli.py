"""``pesquisa app``: first run creates the users file and prints its password once, serves the app
(health endpoint answers), prints the URL, and stops its server on SIGTERM; ``--add-user``."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.auth import authenticate, load_users
from app.server import free_port

pytestmark = pytest.mark.slow


def _pesquisa(home: Path, *args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PESQUISA_BCRYPT_ROUNDS="4")
    env.pop("PESQUISA_USERS_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "--home", str(home), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[2]),
        **kw,
    )


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float) -> str:
    out, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            out += line
            if re.search(pattern, out):
                return out
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{pattern!r} not printed within {timeout}s; output so far:\n{out}")


def test_pesquisa_app_first_run_serves_and_stops(tmp_path):
    home = tmp_path / "home"
    port = free_port()
    proc = _pesquisa(home, "app", "--port", str(port))
    try:
        out = _read_until(proc, rf"Pesquisa app: http://localhost:{port}", timeout=150)
        password = re.search(r"password: (\S+)", out).group(1)
        users = home / "users.yaml"
        assert set(load_users(users)) == {"admin"}  # outside the demo: only admin, no shared demo account
        assert password not in users.read_text()
        assert authenticate(users, "admin", password).must_change_password
        with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200 and r.read() == b"ok"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=30)
    assert rc == 0
    # the server went down with it
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2)
    # second run: the file exists, nothing secret is printed again
    port2 = free_port()
    proc = _pesquisa(home, "app", "--port", str(port2))
    try:
        out = _read_until(proc, r"Pesquisa app: http://", timeout=150)
        assert "password" not in out and "1 users" in out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_add_user_from_stdin(tmp_path):
    home = tmp_path / "home"
    proc = _pesquisa(
        home, "app", "--add-user", "bea", "--role", "analyst", "--agency", "municipal", stdin=subprocess.PIPE
    )
    out, _ = proc.communicate("a-long-password\n", timeout=60)
    assert proc.returncode == 0, out
    assert "saved user bea (analyst, municipal)" in out
    user = authenticate(home / "users.yaml", "bea", "a-long-password")
    assert (user.role, user.agency) == ("analyst", "municipal")
    proc = _pesquisa(home, "app", "--add-user", "cy", "--role", "investigator", stdin=subprocess.PIPE)
    out, _ = proc.communicate("another-password\n", timeout=60)
    assert proc.returncode == 1 and "needs an agency" in out
