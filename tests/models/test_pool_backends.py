"""The Ray extraction pool runs the back-ends a home's settings choose, not the actors' own defaults.

An actor is another process: it does not see the driver's ``--home``, so the pool hands it the back-end
keys and their options (:meth:`pipelines.extract.actors.PoolConfig.for_settings`). Here the home
picks the non-default face back-end on the CPU (``mtcnn-dlib-torch``, the torch port) with options,
and the actor (real models) reports and runs it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pesquisa.yaml").write_text(
        "models:\n"
        "  plates: rapidocr-onnx-cpu\n"
        "  faces: mtcnn-dlib-torch\n"
        "  options:\n"
        "    mtcnn-dlib-torch:\n"
        "      mtcnn_batch_size: 3\n"
        "      embed_batch_size: 8\n"
        "    rapidocr-onnx-cpu:\n"
        "      det_limit_side: 1280\n"
    )
    # the driver's process settings say nothing about this home: only the pool config carries it
    monkeypatch.delenv("PESQUISA_HOME", raising=False)
    for name in [n for n in os.environ if n.startswith("PESQUISA__")]:
        monkeypatch.delenv(name)
    return home


def test_pool_config_takes_the_backends_and_options_from_the_settings(torch_home):
    from lakehouse.settings import load_settings
    from pipelines.extract.actors import PoolConfig

    cfg = PoolConfig.for_settings(load_settings(torch_home), workers=1, device="cpu")
    assert (cfg.plate_backend, cfg.face_backend) == ("rapidocr-onnx-cpu", "mtcnn-dlib-torch")
    assert '"embed_batch_size":8' in cfg.backend_options
    assert hash(cfg) == hash(PoolConfig.for_settings(load_settings(torch_home), workers=1, device="cpu"))
    default = PoolConfig(workers=1, device="cpu")
    assert (default.plate_backend, default.face_backend) == ("auto", "auto") and default != cfg


@pytest.mark.slow
def test_the_actors_run_the_backend_the_settings_choose(torch_home, ray_session):
    import ray

    from lakehouse.settings import load_settings
    from pipelines.extract.actors import PoolConfig, get_pool, shutdown_pools
    from pipelines.extract.frames import FrameTask
    from pipelines.synth.plates import render_plate

    pool = get_pool(PoolConfig.for_settings(load_settings(torch_home), workers=1, device="cpu"))
    try:
        assert pool.backends == {"plates": "rapidocr-onnx-cpu", "faces": "mtcnn-dlib-torch"}
        info = pool.call("info")
        assert info["pid"] != os.getpid() and info["face_backend"] == "mtcnn-dlib-torch"
        assert info["backend_settings"]["mtcnn-dlib-torch"]["embed_batch_size"] == 8
        assert info["backend_settings"]["rapidocr-onnx-cpu"]["det_limit_side"] == 1280
        assert info["face_batch_size"] == 3  # the option reached the actor's face analyzer
        # and the actor's real models read a frame: a rendered plate on a grey street
        frame = np.full((480, 640, 3), 110, np.uint8)
        plate = render_plate("ABC1234", "BR", 60)
        frame[200 : 200 + plate.shape[0], 200 : 200 + plate.shape[1]] = plate
        ref, i = pool.submit([FrameTask(seq=0, image=frame, faces=True)], ["BR"])
        (result,) = ray.get(ref, timeout=120)
        pool.done(i)
        assert "ABC1234" in [p.get("text") for p in result.plates], result.plates
    finally:
        shutdown_pools()


def test_a_pool_asked_for_more_workers_than_cpus_starts_what_the_cluster_has(ray_session):
    """Each actor takes a whole CPU: asking for more (a node died mid-backfill, a setting too high)
    starts one per CPU at once instead of waiting the start timeout for a CPU that is not there."""
    import ray

    from pipelines.extract.actors import ActorPool, PoolConfig

    cpus = int(ray.cluster_resources()["CPU"])
    pool = ActorPool(
        PoolConfig(workers=cpus + 2, device="cpu", plates=False, faces=False), start_timeout_s=600
    )
    try:
        assert pool.size == cpus and len(pool.load) == cpus
    finally:
        pool.shutdown()
