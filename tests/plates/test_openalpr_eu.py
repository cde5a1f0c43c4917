"""Accuracy on 108 real European car photos (OpenALPR benchmark), full images, against plain RapidOCR.

The reader gets the whole photo and must find the plate; the labelled box only checks where the
read came from. Same command by hand: ``python -m pipelines.plates.evaluate <shared>/plates/openalpr_eu``.
"""

from __future__ import annotations

import pytest

from pipelines.plates.evaluate import evaluate, format_report
from pipelines.plates.reader import PlateReader


@pytest.mark.slow
def test_reader_beats_plain_rapidocr_on_openalpr_eu(shared_data):
    folder = shared_data / "plates" / "openalpr_eu"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    result = evaluate(folder, reader=PlateReader(formats=["EU"], device="cpu"), baseline=True)
    print("\n" + format_report(result))
    ours, base = result["reader"], result["baseline"]
    assert ours["images"] == base["images"] == 108
    # O/0 and I/1 counted equal: the labels spell the same plates both ways (RKO99AN, RK099AN)
    assert ours["o0_i1_equal_rate"] >= 0.92
    assert ours["o0_i1_equal_rate"] >= base["o0_i1_equal_rate"] + 0.05
    assert ours["exact_rate"] >= base["exact_rate"]
    # the read comes from the labelled plate, not from other text in the photo
    assert ours["top_read_in_label_box"] >= 0.95 * ours["images"]
    # the reader costs about what plain RapidOCR costs (both run here, side by side)
    assert ours["ms_per_image_median"] <= 2.0 * base["ms_per_image_median"]
