"""A local ``dask.distributed`` cluster for the Beam Dask runner (tests, benchmarks, one machine).

Workers are separate processes bound to 127.0.0.1 on free ports (no dashboard). They import the
pipeline code, so the repository root is put on their ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def local_dask_cluster(
    n_workers: int = 2, threads_per_worker: int = 1, memory_limit: str = "2GiB"
) -> Iterator[str]:
    """Start a loopback cluster; yields the scheduler address (``tcp://127.0.0.1:PORT``).

    A worker pauses at 80 % of ``memory_limit`` and Beam's in-flight bundles are memory Dask cannot
    spill, so a worker that reaches it stalls the run: size it to the day's reads (1M reads needed
    more than 2 GiB per worker)."""
    from distributed import LocalCluster

    old = os.environ.get("PYTHONPATH")
    parts = [str(REPO_ROOT)] + ([old] if old else [])
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    try:
        with LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address=None,
            memory_limit=memory_limit,
        ) as cluster:
            yield cluster.scheduler_address
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def dask_options(address: str, partitions: int | None = 4) -> list[str]:
    """Pipeline options for :func:`pipelines.movement.run_movement` on that cluster. ``partitions``
    sets the Dask bag partitions (Beam's default of 128 elements per partition makes thousands of
    tiny tasks)."""
    return [f"--dask_client_address={address}"] + ([f"--dask_npartitions={partitions}"] if partitions else [])


__all__ = ["dask_options", "local_dask_cluster"]
