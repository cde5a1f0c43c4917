"""The Ray actor pool that holds the models: one model load per actor, batches of frames in,
plain detections out.

- Resources come from the detected hardware (:func:`pipelines.ray_runtime.actor_resources`): an
  actor asks for a GPU only when the cluster has one (a request the cluster cannot meet would wait
  forever). On GPUs, two actors share each GPU (``num_gpus=0.5``) so one's CPU work overlaps the
  other's GPU work; on CPUs, one actor per CPU.
- Every wait has a timeout: actors that do not start, or a batch that does not come back, raise
  :class:`PoolError` instead of hanging. A pool whose actor died is marked broken and rebuilt.
- Backpressure lives in the caller (:mod:`pipelines.extract.runner`): it keeps at most
  :attr:`ActorPool.max_inflight` batches in flight.

A pool is cached per configuration in the driver process (loading the models costs seconds), and
released by :func:`shutdown_pools` (also at interpreter exit, or when Ray was shut down).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.extract.frames import FrameProcessor, FrameResult, FrameTask
from pipelines.models.registry import AUTO

if TYPE_CHECKING:  # pragma: no cover
    from lakehouse.settings import LoadedSettings, ModelSettings, Settings

log = logging.getLogger(__name__)


def actor_start_timeout_s() -> float:
    """Seconds to wait for the model actors to load (setting ``compute.actor_start_timeout_s``)."""
    from lakehouse.settings import get_settings

    return float(get_settings().compute.actor_start_timeout_s)


def batch_timeout_s() -> float:
    """Seconds before a frame batch is declared stuck (setting ``compute.batch_timeout_s``)."""
    from lakehouse.settings import get_settings

    return float(get_settings().compute.batch_timeout_s)


class PoolError(RuntimeError):
    """The actor pool could not start, a batch timed out, or an actor died."""


class ExtractionWorker:
    """Ray actor body: a :class:`FrameProcessor` (models loaded once, in ``__init__``)."""

    def __init__(
        self,
        device: str,
        plates: bool,
        faces: bool,
        threads: int | None,
        plate_backend: str = AUTO,
        face_backend: str = AUTO,
        backend_options: str = "{}",
    ):
        if threads:
            try:
                import torch

                torch.set_num_threads(int(threads))
            except Exception:  # torch missing: plates only
                pass
        # the driver's choice, not this process's settings (an actor may not see the driver's home)
        self.processor = FrameProcessor(
            device=device,
            plates=plates,
            faces=faces,
            threads=threads,
            plate_backend=plate_backend,
            face_backend=face_backend,
            backend_options=json.loads(backend_options),
        )
        from pipelines.memory import HeapTrimmer

        # freed frame buffers go back to the system: a live pool actor's RSS stays flat (issue 9)
        self._trimmer = HeapTrimmer()

    def info(self) -> dict[str, Any]:
        return {**self.processor.info(), "pid": os.getpid()}

    def process(self, tasks: list[FrameTask], formats: list[str] | None) -> list[FrameResult]:
        out = self.processor.process(tasks, formats)
        self._trimmer.maybe()
        return out

    def find_overlays(self, image: Any) -> list[tuple[float, float, float, float]]:
        return self.processor.find_overlays(image) if self.processor.plates_on else []


@dataclass(frozen=True)
class PoolConfig:
    """What a pool runs. ``plate_backend``/``face_backend`` are model back-end keys (``auto``: the
    default for the actors' device) and ``backend_options`` the ``models.options`` section as
    canonical JSON (hashable: pools are cached per configuration); :meth:`for_settings` takes all
    three from a home's settings, so what the settings choose is what runs in the actors."""

    workers: int | None = None  # None: from the hardware
    device: str = "auto"
    plates: bool = True
    faces: bool = True
    max_restarts: int = 0  # Ray restarts a crashed actor (models reloaded) this many times (live: > 0)
    plate_backend: str = AUTO
    face_backend: str = AUTO
    backend_options: str = "{}"

    @classmethod
    def for_settings(cls, settings: Settings | LoadedSettings, **kw: Any) -> PoolConfig:
        """The pool configuration with the back-ends of ``settings.models`` (e.g. ``lh.settings``)."""
        m: ModelSettings = settings.models
        options = json.dumps(m.options, sort_keys=True, separators=(",", ":"), default=str)
        return cls(plate_backend=m.plates, face_backend=m.faces, backend_options=options, **kw)


class ActorPool:
    """N :class:`ExtractionWorker` actors; :meth:`submit` picks the least-loaded one."""

    def __init__(self, config: PoolConfig | None = None, start_timeout_s: float | None = None):
        start_timeout_s = actor_start_timeout_s() if start_timeout_s is None else start_timeout_s
        import ray

        from pipelines.device import torch_device
        from pipelines.ray_runtime import actor_resources, cluster_gpus, ensure_ray

        self.config = config or PoolConfig()
        ensure_ray()
        want_gpu = self.config.device != "cpu" and torch_device(self.config.device) == "cuda"
        gpus = cluster_gpus() if want_gpu else 0.0
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        if gpus >= 1:
            n = self.config.workers or max(1, int(gpus) * 2)
            res = actor_resources(cpus_per_actor=1.0)
            res["num_gpus"] = min(1.0, gpus / n)
            device = "cuda"
        else:
            n = self.config.workers or max(1, int(cpus))
            if n > max(1, int(cpus)):
                # an actor takes a whole CPU: more than the cluster has would wait for a CPU that is
                # not there (e.g. after a node died mid-backfill) until the start timeout
                log.warning(
                    "extraction pool: %d workers asked for, the cluster has %g CPUs: starting %d",
                    n,
                    cpus,
                    max(1, int(cpus)),
                )
                n = max(1, int(cpus))
            res = {"num_cpus": 1.0, "num_gpus": 0}
            device = "cpu"
        threads = max(1, int(cpus // n)) if device == "cpu" else None
        # a restarted actor reloads its models; a batch it was running is retried once (frames in,
        # detections out: running a batch twice is harmless)
        restarts = self.config.max_restarts
        remote = ray.remote(ExtractionWorker).options(
            **res, max_concurrency=1, max_restarts=restarts, max_task_retries=1 if restarts else 0
        )
        self.resources = res
        self.device = device
        self.actors = [
            remote.remote(
                device,
                self.config.plates,
                self.config.faces,
                threads,
                self.config.plate_backend,
                self.config.face_backend,
                self.config.backend_options,
            )
            for _ in range(n)
        ]
        self.load = [0] * n
        self.broken = False
        refs = [a.info.remote() for a in self.actors]
        ready, waiting = ray.wait(refs, num_returns=n, timeout=start_timeout_s)
        if waiting and not ready:
            self.shutdown()
            raise PoolError(
                f"{len(waiting)} of {n} extraction actors did not start within {start_timeout_s:.0f} s "
                f"(each asks for {res}; cluster has {ray.cluster_resources()})"
            )
        if waiting:  # go on with the actors that started (a node may have gone); drop the rest
            started = {r.hex() for r in ready}
            up = [r.hex() in started for r in refs]
            keep = [a for a, ok in zip(self.actors, up, strict=True) if ok]
            for a, ok in zip(self.actors, up, strict=True):
                if not ok:
                    ray.kill(a)
            log.warning(
                "extraction pool: %d of %d actors did not start within %.0f s; going on with %d",
                len(waiting),
                n,
                start_timeout_s,
                len(keep),
            )
            self.actors, self.load = keep, [0] * len(keep)
        try:
            infos = ray.get(ready, timeout=start_timeout_s)
        except Exception as exc:
            self.shutdown()
            raise PoolError(f"extraction actors failed to load the models: {exc}") from exc
        self.quality_floor = float(infos[0].get("quality_floor", 0.0))
        #: the back-end keys the actors run (from their FrameProcessor.info)
        self.backends = {
            "plates": infos[0].get("plate_backend"),
            "faces": infos[0].get("face_backend"),
        }
        log.info(
            "extraction pool: %d actor(s) on %s, %s, back-ends %s",
            len(self.actors),
            device,
            res,
            self.backends,
        )

    @property
    def size(self) -> int:
        return len(self.actors)

    @property
    def max_inflight(self) -> int:
        """Batches in flight across the pool (two per actor: one running, one queued)."""
        return 2 * len(self.actors)

    def submit(self, tasks: list[FrameTask], formats: list[str] | None) -> tuple[Any, int]:
        """Send a batch to the least-loaded actor; returns (object ref, actor index)."""
        i = min(range(len(self.actors)), key=lambda k: self.load[k])
        self.load[i] += 1
        return self.actors[i].process.remote(tasks, formats), i

    def call(self, method: str, *args: Any, timeout_s: float | None = None) -> Any:
        """Run one actor method synchronously (on the least-loaded actor), with a timeout."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        i = min(range(len(self.actors)), key=lambda k: self.load[k])
        try:
            return ray.get(
                getattr(self.actors[i], method).remote(*args),
                timeout=batch_timeout_s() if timeout_s is None else timeout_s,
            )
        except (RayActorError, GetTimeoutError) as exc:
            self.broken = True
            raise PoolError(f"extraction actor failed on {method}: {exc}") from exc

    def done(self, actor_index: int) -> None:
        self.load[actor_index] = max(0, self.load[actor_index] - 1)

    def reset_load(self) -> None:
        self.load = [0] * len(self.actors)

    def shutdown(self) -> None:
        import ray

        for a in getattr(self, "actors", []):
            try:
                ray.kill(a)
            except Exception:  # already gone
                pass
        self.actors = []


_POOLS: dict[PoolConfig, ActorPool] = {}
_POOLS_LOCK = threading.Lock()


def get_pool(config: PoolConfig) -> ActorPool:
    """The cached pool for ``config`` (built on first use, rebuilt when broken or Ray restarted)."""
    import ray

    with _POOLS_LOCK:
        pool = _POOLS.get(config)
        if pool is not None and (pool.broken or not ray.is_initialized() or not pool.actors):
            _POOLS.pop(config, None)
            if ray.is_initialized():
                pool.shutdown()
            pool = None
        if pool is None:
            # one pool at a time: models are big and actors hold CPUs other pools would wait for
            for other in list(_POOLS.values()):
                other.shutdown()
            _POOLS.clear()
            pool = ActorPool(config)
            _POOLS[config] = pool
        pool.reset_load()
        return pool


def shutdown_pools() -> None:
    """Kill every cached actor pool (frees the models' memory and the actors' CPUs/GPUs)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    try:
        import ray

        if not ray.is_initialized():
            return
    except Exception:
        return
    for p in pools:
        p.shutdown()


atexit.register(shutdown_pools)
