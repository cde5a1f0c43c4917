"""Start or join Ray: local by default, a cluster when setting ``compute.ray_address`` (``RAY_ADDRESS``)
is set.

Resource requests are derived from the detected hardware: asking for a GPU that is not there makes
Ray wait forever, so :func:`actor_resources` never does."""

from __future__ import annotations

import logging
import os

from pipelines.device import gpu_count

log = logging.getLogger(__name__)


def ensure_ray(num_cpus: int | None = None) -> None:
    """``ray.init`` once per process: the cluster at ``RAY_ADDRESS``, else a local one."""
    import ray

    if ray.is_initialized():
        return
    from lakehouse.settings import get_settings

    compute = get_settings().compute
    address = compute.ray_address
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        log.info("joining Ray cluster at %s", address)
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        return
    cpus = num_cpus or compute.ray_cpus or os.cpu_count() or 1
    ray.init(
        num_cpus=cpus,
        num_gpus=gpu_count(),
        include_dashboard=False,
        ignore_reinit_error=True,
        log_to_driver=False,
        configure_logging=False,
    )


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0))


def actor_resources(cpus_per_actor: float = 1.0) -> dict[str, float]:
    """Resources for one model actor: a GPU only if the cluster has one."""
    if cluster_gpus() >= 1:
        return {"num_cpus": cpus_per_actor, "num_gpus": 1}
    return {"num_cpus": cpus_per_actor, "num_gpus": 0}
