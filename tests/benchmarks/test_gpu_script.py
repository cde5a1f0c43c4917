"""benchmarks/gpu.py runs on CPU at small sizes (the lent GPU machine runs it at full size)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_gpu_script_smoke_on_cpu(tmp_path) -> None:
    from benchmarks import gpu

    out = tmp_path / "gpu.json"
    assert gpu.main(["--smoke", "--device", "cpu", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    # the torch port reproduces dlib's descriptors computed on this machine
    assert res["face_parity"]["max_abs_diff"] < 1e-4
    assert res["streams"][0]["analysed_frames"] > 0 and res["streams"][0]["decoded_frames"] >= 2 * 25
    assert res["knn"]["recall_at_10"] == 1.0  # exact search is exact


@pytest.mark.component
def test_scaleout_benchmark_smoke() -> None:
    from benchmarks import scaleout

    assert scaleout.main(["--smoke"]) == 0
