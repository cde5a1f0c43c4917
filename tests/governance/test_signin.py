"""Sign-in limiter (per user name and per client address, persisted, backoff, logged), session
timeouts and the demo-home guard (issue 12.7)."""

from __future__ import annotations

import json

import pytest

from pipelines.governance.signin import (
    DemoHomeError,
    LimiterPolicy,
    SignInLimiter,
    demo_home_check,
    session_expired,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def test_limiter_per_name_and_address_shared_and_backing_off(home):
    clock = Clock()
    policy = LimiterPolicy(max_failures=3, window_s=600, lockout_s=10, lockout_max_s=35)
    a = SignInLimiter(home, policy, clock)
    for _ in range(2):
        assert a.failure("ana", "10.0.0.1") == 0
    assert a.failure("ana", "10.0.0.1") == 10  # third failure: locked 10 s
    b = SignInLimiter(home, policy, clock)  # another session / process: same state
    assert b.wait_s("ana", "10.0.0.9") == 10  # the name is locked from any address
    assert b.wait_s("bob", "10.0.0.1") == 10  # the address is locked for any name
    assert b.wait_s("bob", "10.0.0.2") == 0
    assert b.failure("ana", "10.0.0.1") == 20  # backoff doubles
    assert b.failure("ana", "10.0.0.1") == 35  # ... up to the maximum
    clock.t += 36
    assert b.wait_s("ana", "10.0.0.3") == 0
    clock.t += 601  # old failures are forgotten
    assert b.failure("ana", "10.0.0.1") == 0
    log = [json.loads(x) for x in (home / "logs" / "signin.log").read_text().splitlines()]
    assert len(log) == 6 and all(r["event"] == "signin.failed" and r["user"] == "ana" for r in log)
    assert oct((home / "logs" / "signin.log").stat().st_mode & 0o777) == "0o600"
    b.success("ana", "10.0.0.1")
    assert b.wait_s("ana", "10.0.0.8") == 0


def test_session_timeouts():
    assert session_expired(0, 100, 110, idle_s=60, max_s=3600) is None
    assert "inactivity" in session_expired(0, 100, 161, idle_s=60, max_s=3600)
    assert "maximum" in session_expired(0, 3599, 3600, idle_s=60, max_s=3600)


def test_demo_refuses_a_home_with_real_data(home, tmp_path):
    from lakehouse import Lakehouse

    Lakehouse(home=home).ensure("cameras")
    with pytest.raises(DemoHomeError, match="refuses"):
        demo_home_check(home)
    fresh = tmp_path / "fresh"
    demo_home_check(fresh)
    Lakehouse(home=fresh).ensure("cameras")
    demo_home_check(fresh)  # a home the demo made stays usable by the demo
    users_only = tmp_path / "users-only"
    users_only.mkdir()
    (users_only / "users.yaml").write_text("users: {}\n")
    with pytest.raises(DemoHomeError):
        demo_home_check(users_only)
