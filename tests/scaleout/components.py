"""Real scale-out components started on loopback for the tests: an S3 server (moto), PostgreSQL,
and a two-raylet Ray cluster. Each helper starts the real program, waits until it answers, and
stops it; a component that cannot start raises :class:`ComponentUnavailable` with the reason."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ComponentUnavailable(RuntimeError):
    """The component's program is not installed here (the test skips, or fails under CI=true)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


# ------------------------------------------------------------------------------------ S3 (moto)
@dataclass
class S3Server:
    endpoint: str
    bucket: str
    proc: subprocess.Popen

    @property
    def storage_options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def uri(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix.strip('/')}"


@contextlib.contextmanager
def s3_server(bucket: str = "pesquisa") -> Iterator[S3Server]:
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        raise ComponentUnavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port, 60, proc)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        yield S3Server(endpoint, bucket, proc)
    finally:
        stop(proc)


# ------------------------------------------------------------------------------------ PostgreSQL
@dataclass
class Postgres:
    port: int
    datadir: Path
    user: str = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/postgres"


def _pg_bin() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = (
        sorted((p for p in root.glob("*/bin/pg_ctl")), key=lambda p: p.parts[-3]) if root.exists() else []
    )
    if not versions:
        raise ComponentUnavailable("PostgreSQL server binaries are not installed (Debian package postgresql)")
    return versions[-1].parent


@contextlib.contextmanager
def postgres_server(tmp: Path) -> Iterator[Postgres]:
    """initdb + pg_ctl on a free loopback port. PostgreSQL refuses to run as root, so as root it
    runs as the ``postgres`` user (runuser)."""
    bindir = _pg_bin()
    datadir = tmp / "pgdata"
    datadir.mkdir(parents=True)
    as_root = os.geteuid() == 0
    if as_root:
        if shutil.which("runuser") is None:
            raise ComponentUnavailable("runuser is missing: cannot start PostgreSQL as a non-root user")
        shutil.chown(datadir, "postgres", "postgres")
        for parent in [tmp, *tmp.parents]:  # postgres must reach its data directory
            if parent == Path("/"):
                break
            with contextlib.suppress(OSError):
                os.chmod(parent, os.stat(parent).st_mode | 0o011)

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [str(bindir / args[0]), *args[1:]]
        if as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    r = run("initdb", "-D", str(datadir), "--auth=trust", "-U", "postgres", "-E", "UTF8")
    if r.returncode != 0:
        raise RuntimeError(f"initdb failed: {r.stderr[-500:]}")
    port = free_port()
    r = run(
        "pg_ctl",
        "-D",
        str(datadir),
        "-l",
        str(datadir / "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {datadir}",
        "start",
    )
    if r.returncode != 0:
        log = (datadir / "server.log").read_text() if (datadir / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {r.stderr[-300:]} {log[-500:]}")
    try:
        yield Postgres(port, datadir)
    finally:
        run("pg_ctl", "-D", str(datadir), "-m", "immediate", "-w", "stop")


# ------------------------------------------------------------------------------------ Ray cluster
_WORKER_NODE = """
import os, sys, time
from ray._private.node import Node
from ray._private.parameter import RayParams
params = RayParams(gcs_address=sys.argv[1], node_ip_address="127.0.0.1", num_cpus=int(sys.argv[2]),
                   num_gpus=0, resources={"worker_node": 1.0})
node = Node(params, head=False, shutdown_at_exit=False, spawn_reaper=False)
print(node.node_id, flush=True)
while True:
    time.sleep(1)
"""


@dataclass
class RayCluster:
    address: str
    tmp: Path
    workers: list[subprocess.Popen]
    env: dict[str, str]
    temp_dir: Path | None = None  # ``--temp-dir`` of the head: this cluster's sessions and sockets

    def add_node(self, num_cpus: int = 1) -> tuple[subprocess.Popen, str]:
        """A second raylet on this machine (Ray's own Node API; DESIGN.md §13); returns (process, node id)."""
        script = self.tmp / "worker_node.py"
        script.write_text(_WORKER_NODE)
        proc = subprocess.Popen(
            [sys.executable, str(script), self.address, str(num_cpus)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if not line:
            stop(proc)
            raise RuntimeError("the second raylet did not start")
        self.workers.append(proc)
        return proc, line


def ray_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_AUTH_MODE": "disabled",
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_DEDUP_LOGS": "0",
        }
    )
    return env


@contextlib.contextmanager
def ray_cluster(tmp: Path, head_cpus: int = 1) -> Iterator[RayCluster]:
    """``ray start --head`` on 127.0.0.1 (a free port), stopped with ``ray stop`` for this cluster."""
    exe = Path(sys.executable).with_name("ray")
    if not exe.exists():
        raise ComponentUnavailable("the ray CLI is not installed")
    port = free_port()
    env = ray_env()
    temp_dir = Path("/tmp") / f"ray-{port}"  # short: unix socket paths are limited to 107 bytes
    r = subprocess.run(
        [
            str(exe),
            "start",
            "--head",
            "--num-cpus",
            str(head_cpus),
            "--num-gpus",
            "0",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
            "--temp-dir",
            str(temp_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if r.returncode != 0:
        raise RuntimeError(f"ray start --head failed: {r.stderr[-1000:]}")
    cluster = RayCluster(address=f"127.0.0.1:{port}", tmp=tmp, workers=[], env=env, temp_dir=temp_dir)
    try:
        yield cluster
    finally:
        for w in cluster.workers:
            stop(w, timeout=5)
        # stop only this cluster's processes: those whose command line names our temp dir or port
        subprocess.run(["pkill", "-9", "-f", f"{temp_dir}|127.0.0.1:{port}"], capture_output=True)
        shutil.rmtree(temp_dir, ignore_errors=True)
