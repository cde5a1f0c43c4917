"""App sign-in hardening (issue 12.7), without Streamlit so it is tested directly.

- :class:`SignInLimiter` — failures counted per user name AND per client address, persisted under
  ``HOME/app/signin.json`` (shared by every browser session and server process; a file lock
  serialises updates). After ``signin_max_failures`` failures within ``signin_window_s`` the key is
  locked for ``signin_lockout_s``, doubling with each further failure up to
  ``signin_lockout_max_s``. Every failure is logged (``HOME/logs/signin.log``, JSON lines, owner-only).
- :func:`session_expired` — idle and absolute session timeouts.
- :func:`demo_home_check` — the demo refuses a home that holds non-demo data.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_MARKER = ".pesquisa-demo"


@dataclass(frozen=True)
class LimiterPolicy:
    max_failures: int = 5
    window_s: float = 900.0
    lockout_s: float = 30.0
    lockout_max_s: float = 3600.0

    @classmethod
    def for_home(cls, home: str | os.PathLike[str]) -> LimiterPolicy:
        from lakehouse.settings import get_settings

        g = get_settings(home).governance
        return cls(g.signin_max_failures, g.signin_window_s, g.signin_lockout_s, g.signin_lockout_max_s)


class SignInLimiter:
    """Failed sign-ins per user name and per client address, shared across sessions."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        policy: LimiterPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = Path(home)
        self.path = self.home / "app" / "signin.json"
        self.log_path = self.home / "logs" / "signin.log"
        self.policy = policy or LimiterPolicy.for_home(home)
        self.clock = clock

    @staticmethod
    def keys(username: str, address: str | None) -> list[str]:
        name = (username or "").strip().lower()[:128]
        return [f"user:{name}", f"addr:{(address or 'unknown')[:64]}"]

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, list[float]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    state: dict[str, list[float]] = json.loads(self.path.read_text())
                except (OSError, ValueError):
                    state = {}
                yield state
                tmp = self.path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    json.dump(state, fh)
                tmp.replace(self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _recent(self, state: dict[str, list[float]], key: str, now: float) -> list[float]:
        return [t for t in state.get(key, []) if now - t < self.policy.window_s]

    def _wait(self, failures: list[float], now: float) -> float:
        p = self.policy
        if len(failures) < p.max_failures:
            return 0.0
        lock: float = min(p.lockout_s * 2 ** (len(failures) - p.max_failures), p.lockout_max_s)
        return max(0.0, failures[-1] + lock - now)

    def wait_s(self, username: str, address: str | None) -> float:
        """Seconds before this user name / address may try again (0: now)."""
        now = self.clock()
        with self._state() as state:
            return max(self._wait(self._recent(state, k, now), now) for k in self.keys(username, address))

    def failure(self, username: str, address: str | None, reason: str = "bad credentials") -> float:
        """Record a failed attempt (logged); returns the wait now imposed."""
        now = self.clock()
        with self._state() as state:
            waits = []
            for k in self.keys(username, address):
                recent = self._recent(state, k, now) + [now]
                state[k] = recent[-100:]
                waits.append(self._wait(recent, now))
            for k in [k for k, v in state.items() if not self._recent(state, k, now)]:
                del state[k]
        self._log(
            {
                "ts": now,
                "event": "signin.failed",
                "user": (username or "")[:128],
                "address": address,
                "reason": reason,
                "locked_s": round(max(waits), 1),
            }
        )
        return max(waits)

    def success(self, username: str, address: str | None) -> None:
        with self._state() as state:
            state.pop(self.keys(username, address)[0], None)
        self._log({"ts": self.clock(), "event": "signin.ok", "user": username, "address": address})

    def _log(self, rec: dict[str, Any]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write(json.dumps(rec) + "\n")


def session_expired(
    signed_in_at: float, last_seen: float, now: float, *, idle_s: float, max_s: float
) -> str | None:
    """Why a session must end (idle or absolute timeout), or None."""
    if now - signed_in_at >= max_s:
        return "Your session reached its maximum length. Please sign in again."
    if now - last_seen >= idle_s:
        return "You were signed out after a period of inactivity."
    return None


class DemoHomeError(RuntimeError):
    """The demo was pointed at a home that holds real (non-demo) data."""


def demo_home_check(home: str | os.PathLike[str]) -> None:
    """Allow the demo only in an empty home or one the demo made (marker file); then mark it."""
    home = Path(home)
    marker = home / DEMO_MARKER
    if marker.exists():
        return
    tables = home / "tables"
    has_tables = tables.exists() and any(p.is_dir() and (p / "_delta_log").exists() for p in tables.iterdir())
    if has_tables or (home / "users.yaml").exists():
        raise DemoHomeError(
            f"{home} already holds data that the demo did not create: the demo (fixed, published "
            "password) refuses to run there. Use an empty --home for the demo."
        )
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text("This home was created by `pesquisa demo` (synthetic data, published demo password).\n")
