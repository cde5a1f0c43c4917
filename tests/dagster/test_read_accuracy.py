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


def _planted(cameras: int, vehicles: int, seed: int, overconfident: int | None = None):
    """Reads of a planned city with planted per-camera error rates (no OCR): a spread from 3% to 30%,
    70% at the dirty lens. Confidences overlap (right reads mostly high, wrong ones mostly lower);
    the ``overconfident`` camera errs 45% of the time with confidences as high as right reads."""
    city = plan_read_city(cameras=cameras, vehicles=vehicles, stops=5, seed=seed)
    rng = np.random.default_rng(seed + 100)
    ids = [c["camera_id"] for c in city.cameras]
    rates = rng.permutation(np.linspace(0.03, 0.30, len(ids)))
    err = dict(zip(ids, rates, strict=True))
    err[city.degraded] = 0.7
    sly = ids[overconfident] if overconfident is not None else None
    if sly is not None:
        err[sly] = 0.45
    reads, right = [], {}
    for p in city.passes:
        cam = p["camera_id"]
        wrong = rng.random() < err[cam]
        conf = rng.beta(8, 2) if not wrong or cam == sly else rng.beta(3, 4)
        reads.append(
            {
                "camera_id": cam,
                "ts": p["ts"],
                "plate": _corrupt(p["plate"], rng) if wrong else p["plate"],
                "confidence": float(conf),
            }
        )
        right.setdefault(cam, []).append(not wrong)
    truth = {c: float(np.mean(v)) for c, v in right.items()}
    return city, reads, truth, sly


@pytest.mark.parametrize(("cameras", "vehicles", "seed"), [(9, 60, 3), (12, 90, 8), (16, 120, 21)])
def test_estimator_recovers_planted_error_rates(cameras: int, vehicles: int, seed: int) -> None:
    """Planted per-camera error rates (no OCR), three cities: the estimate follows them (Spearman >= 0.7)
    and the dirty lens is last, with and without the reader's confidences."""
    city, reads, truth, _ = _planted(cameras, vehicles, seed)
    for rows in (reads, [{k: v for k, v in r.items() if k != "confidence"} for r in reads]):
        est = {r["camera_id"]: r for r in estimate_accuracy(rows, city.cameras)}
        assert est[city.degraded]["rank"] == len(est) == cameras
        cams = sorted(est)
        rho = spearman([truth[c] for c in cams], [est[c]["accuracy"] for c in cams])
        assert rho >= 0.7, rho
        assert abs(est[city.degraded]["accuracy"] - truth[city.degraded]) < 0.15


def test_confident_but_wrong_camera_is_caught_by_its_neighbours() -> None:
    """A camera whose reader is confidently wrong (45% errors at right-read confidence) is not believed:
    the other cameras contradict it, so its estimate lands near its true accuracy, far under what its
    confidences say, and the ranking still follows the truth."""
    city, reads, truth, sly = _planted(12, 90, 8, overconfident=2)
    est = {r["camera_id"]: r for r in estimate_accuracy(reads, city.cameras)}
    confidence = np.mean([r["confidence"] for r in reads if r["camera_id"] == sly])
    assert abs(est[sly]["accuracy"] - truth[sly]) < 0.1, (est[sly]["accuracy"], truth[sly])
    assert est[sly]["accuracy"] < confidence - 0.1
    cams = sorted(est)
    assert spearman([truth[c] for c in cams], [est[c]["accuracy"] for c in cams]) >= 0.7
    assert est[city.degraded]["rank"] == len(est)


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
