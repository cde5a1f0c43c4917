"""Where batches of frames run: a Ray actor pool, or this process (benchmarks, debugging).

Both give the same small interface to :mod:`pipelines.extract.runner`: ``submit(tasks)`` returns a
handle, ``wait(timeout)`` returns finished ``(handle, results)`` pairs, at least one unless the
timeout passed (then :class:`PoolError`).
"""

from __future__ import annotations

from typing import Any, Protocol

from pipelines.extract.actors import ActorPool, PoolError, batch_timeout_s
from pipelines.extract.frames import FrameProcessor, FrameResult, FrameTask


class Executor(Protocol):
    max_inflight: int
    device: str
    quality_floor: float

    def submit(self, tasks: list[FrameTask], formats: list[str] | None) -> Any: ...

    def pending(self) -> int: ...

    def wait(self, timeout_s: float | None = None) -> list[tuple[Any, list[FrameResult]]]: ...

    def cancel(self) -> None: ...

    def find_overlays(self, image: Any) -> list[tuple[float, float, float, float]]: ...


class RayExecutor:
    """Batches on an :class:`ActorPool`; at most ``pool.max_inflight`` in flight (the caller waits
    before submitting more: that is the backpressure that bounds memory on long videos)."""

    def __init__(self, pool: ActorPool):
        self.pool = pool
        self.max_inflight = pool.max_inflight
        self.device = pool.device
        self.quality_floor = pool.quality_floor
        self._inflight: dict[Any, int] = {}  # ref -> actor index

    def submit(self, tasks: list[FrameTask], formats: list[str] | None) -> Any:
        # numpy frames inside the tasks go to the object store once; the actor reads them zero-copy
        ref, actor = self.pool.submit(tasks, formats)
        self._inflight[ref] = actor
        return ref

    def pending(self) -> int:
        return len(self._inflight)

    def wait(self, timeout_s: float | None = None) -> list[tuple[Any, list[FrameResult]]]:
        timeout_s = batch_timeout_s() if timeout_s is None else timeout_s
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        if not self._inflight:
            return []
        ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=timeout_s)
        if not ready:
            self.pool.broken = True
            self.cancel()
            raise PoolError(f"no batch came back from the extraction actors within {timeout_s:.0f} s")
        # take everything else that is already done too
        more, _ = ray.wait(
            [r for r in self._inflight if r not in ready],
            num_returns=len(self._inflight) - len(ready),
            timeout=0,
        )
        out = []
        for ref in list(ready) + list(more):
            actor = self._inflight.pop(ref)
            self.pool.done(actor)
            try:
                out.append((ref, ray.get(ref, timeout=timeout_s)))
            except RayActorError as exc:
                self.pool.broken = True
                self.cancel()
                raise PoolError(f"an extraction actor died: {exc}") from exc
            except RayTaskError as exc:
                self.cancel()
                raise PoolError(f"model error: {exc.cause!r}" if exc.cause else str(exc)) from exc
            except GetTimeoutError as exc:
                self.pool.broken = True
                self.cancel()
                raise PoolError("timed out fetching a batch result") from exc
        return out

    def find_overlays(self, image: Any) -> list[tuple[float, float, float, float]]:
        return self.pool.call("find_overlays", image)

    def cancel(self) -> None:
        import ray

        for ref in list(self._inflight):
            try:
                ray.cancel(ref)
            except Exception:
                pass
        self._inflight.clear()
        self.pool.reset_load()


class LocalExecutor:
    """Runs each batch synchronously in this process (no Ray): the models' own throughput."""

    def __init__(self, processor: FrameProcessor):
        self.processor = processor
        self.max_inflight = 1
        self.device = processor.info()["device"]
        self.quality_floor = processor.quality_floor
        self._done: list[tuple[Any, list[FrameResult]]] = []
        self._n = 0

    def submit(self, tasks: list[FrameTask], formats: list[str] | None) -> Any:
        self._n += 1
        self._done.append((self._n, self.processor.process(tasks, formats)))
        return self._n

    def pending(self) -> int:
        return len(self._done)

    def wait(self, timeout_s: float | None = None) -> list[tuple[Any, list[FrameResult]]]:
        timeout_s = batch_timeout_s() if timeout_s is None else timeout_s
        out, self._done = self._done, []
        return out

    def find_overlays(self, image: Any) -> list[tuple[float, float, float, float]]:
        return self.processor.find_overlays(image) if self.processor.plates_on else []

    def cancel(self) -> None:
        self._done.clear()
