"""Start the Streamlit app as a server process: used by ``pesquisa app``, ``pesquisa demo`` and the
browser test.

The app runs ``streamlit run app/main.py`` headless in a child process; the home directory and the
users file reach it through ``PESQUISA_HOME`` / ``PESQUISA_USERS_FILE``. Nothing here imports
Streamlit, so the CLI stays fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.auth import USERS_FILE_ENV, default_users_file, ensure_users_file, load_users

MAIN_SCRIPT = Path(__file__).resolve().parent / "main.py"
HEALTH_PATH = "/_stcore/health"

# A sober look for a tool people open every day (passed as flags: no config file to ship).
THEME = {
    "theme.base": "light",
    "theme.primaryColor": "#1f5f99",
    "theme.secondaryBackgroundColor": "#f1f4f8",
    "theme.textColor": "#1b2430",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def streamlit_command(port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line for the app."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN_SCRIPT),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--server.maxUploadSize",
        "25",
    ]
    for key, value in THEME.items():
        cmd += [f"--{key}", value]
    return cmd


def app_env(home: str | os.PathLike[str], users_file: str | os.PathLike[str] | None) -> dict[str, str]:
    env = dict(os.environ)
    home_path = Path(home).expanduser().resolve()
    env["PESQUISA_HOME"] = str(home_path)
    env[USERS_FILE_ENV] = str(Path(users_file).resolve() if users_file else default_users_file(home_path))
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return env


@dataclass
class AppProcess:
    """A running app server; use as a context manager so it is always stopped."""

    process: subprocess.Popen
    url: str

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_healthy(self.url, timeout, self.process)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_app(
    home: str | os.PathLike[str],
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    users_file: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
) -> AppProcess:
    """Start the server in its own process group and return at once (``port=0``: a free port)."""
    port = port or free_port(host)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        streamlit_command(port, host),
        env=app_env(home, users_file),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(MAIN_SCRIPT.parent.parent),
    )
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "") else host
    return AppProcess(proc, f"http://{shown}:{port}")


def wait_healthy(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Poll ``/_stcore/health`` until it answers ``ok``; raise with a reason otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the app server exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise TimeoutError(f"the app at {url} was not healthy after {timeout:.0f}s ({last})")


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so ``serve_app`` stops its server (which runs in its own
    session and would otherwise outlive us)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def serve_app(
    home: str | os.PathLike[str],
    port: int = 8501,
    open_browser: bool = False,
    users_file: str | os.PathLike[str] | None = None,
    *,
    host: str = "localhost",
    demo_password: str | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Serve the app until interrupted (blocks). Creates the users file on first run and prints its
    password once; prints the URL. Returns the server's exit code (0 on Ctrl-C)."""
    home_path = Path(home).expanduser().resolve()
    home_path.mkdir(parents=True, exist_ok=True)
    users_path = Path(users_file).resolve() if users_file else default_users_file(home_path)
    if demo_password is not None:
        from pipelines.governance.signin import demo_home_check

        demo_home_check(home_path)  # the published demo password never guards real data
    password = ensure_users_file(users_path, password=demo_password, demo=demo_password is not None)
    if password is not None and demo_password is not None:
        say(
            f"Created {users_path} with the demo users 'demo' (investigator) and 'admin' (password {password})."
        )
    elif password is not None:
        say(f"Created {users_path} with the user 'admin'.")
        say(
            f"  password: {password}   (shown once; it must be changed at the first sign-in; "
            "add users with `pesquisa app --add-user`)"
        )
    else:
        say(f"Users: {users_path} ({len(load_users(users_path))} users)")
    log_path = home_path / "logs" / "app.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    app = start_app(home_path, port=port, host=host, users_file=users_path, log_path=log_path)
    _stop_on_sigterm()
    try:
        app.wait_ready(timeout=120)
        say(f"Pesquisa app: {app.url}   (home {home_path}; log {log_path}; Ctrl-C to stop)")
        if open_browser:
            import webbrowser

            webbrowser.open(app.url)
        return int(app.process.wait() or 0)
    except KeyboardInterrupt:
        say("stopping the app")
        return 0
    finally:
        app.stop()
