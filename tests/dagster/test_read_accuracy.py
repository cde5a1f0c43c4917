"""Self-measured read accuracy: on a synthetic city where one camera's lens is dirty, the estimate
from cross-camera agreement ranks that camera last and follows the true per-camera accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.read_accuracy import estimate_accuracy, spearman
from pipelines.synth.read_quality import plan_read_city


def _corrupt(text: str, rng: np.random.Generator) -> str:
    chars = list(text)
    for _ in range(int(rng.integers(1, 3))):
        k = int(rng.integers(len(chars)))
        chars[k] = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"[int(rng.integers(33))]
    return "".join(chars)


def test_estimator_recovers_planted_error_rates() -> None:
    """Planted per-camera error rates (no OCR): the fit follows them and the worst camera is last."""
    city = plan_read_city(cameras=9, vehicles=60, stops=5, seed=3)
    rng = np.random.default_rng(5)
    err = {c["camera_id"]: 0.03 * k for k, c in enumerate(city.cameras)}
    err[city.degraded] = 0.7
    reads, truth = [], {}
    for p in city.passes:
        wrong = rng.random() < err[p["camera_id"]]
        reads.append(
            {
                "camera_id": p["camera_id"],
                "ts": p["ts"],
                "plate": _corrupt(p["plate"], rng) if wrong else p["plate"],
            }
        )
    for c in err:
        mine = [r for r, p in zip(reads, city.passes, strict=True) if p["camera_id"] == c]
        truth[c] = (
            np.mean(
                [
                    r["plate"] == p["plate"]
                    for r, p in zip(reads, city.passes, strict=True)
                    if p["camera_id"] == c
                ]
            )
            if mine
            else 0.0
        )
    est = {r["camera_id"]: r for r in estimate_accuracy(reads, city.cameras)}
    assert min(est.values(), key=lambda r: r["accuracy"])["camera_id"] == city.degraded
    assert est[city.degraded]["rank"] == len(est)
    cams = sorted(est)
    rho = spearman([truth[c] for c in cams], [est[c]["accuracy"] for c in cams])
    assert rho >= 0.7, rho
    assert abs(est[city.degraded]["accuracy"] - truth[city.degraded]) < 0.2


@pytest.mark.slow
def test_accuracy_asset_on_real_reads_ranks_the_dirty_lens_last(tmp_path) -> None:
    """Real plate reader on rendered, per-camera-degraded plates -> plate_reads -> the Dagster asset."""
    import dagster as dg

    from dagster_project.defs.quality import camera_read_accuracy
    from dagster_project.defs.resources import DerivedParquetIOManager, LakehouseResource
    from lakehouse import Lakehouse
    from pipelines.synth.read_quality import read_passes

    city = plan_read_city(cameras=9, vehicles=30, stops=5, seed=7)
    reads = read_passes(city)
    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    lh.upsert("cameras", city.cameras)
    lh.append("plate_reads", reads)
    day = city.passes[0]["ts"].date().isoformat()
    res = dg.materialize(
        [camera_read_accuracy],
        partition_key=day,
        resources={
            "lakehouse": LakehouseResource(home=str(home)),
            "derived_io_manager": DerivedParquetIOManager(home=str(home)),
        },
    )
    assert res.success
    rows = res.output_for_node("camera_read_accuracy").to_pylist()
    truth = city.true_accuracy()
    est = {r["camera_id"]: r for r in rows if r["accuracy"] is not None}
    assert len(est) >= 8
    for c in sorted(est):
        print(f"{c}: estimated {est[c]['accuracy']:.2f}, true {truth[c]:.2f}")
    assert est[city.degraded]["rank"] == len(est), {c: r["accuracy"] for c, r in est.items()}
    rho = spearman([truth[c] for c in sorted(est)], [est[c]["accuracy"] for c in sorted(est)])
    print("spearman", rho)
    assert rho >= 0.7
