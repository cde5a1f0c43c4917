"""No plate dropped for its shape: the camera's format is a prior, a foreign plate stays itself,
unknown layouts are recorded as ``generic``, letter slots never take a digit."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.plates.decode import rank_candidates
from pipelines.plates.formats import LETTERS, parse_pattern
from pipelines.plates.reader import DEFAULT_FORMATS

from .test_decode import chars, line

AR_CAMERA = ["AR"] + [f for f in DEFAULT_FORMATS if f != "AR"]


def test_a_plate_of_a_country_without_preset_is_recorded_as_generic():
    # a Russian-style A123BC77 at an Argentine camera: no preset fits, it is still a read
    best = rank_candidates(line(chars("A123BC77")), AR_CAMERA)[0]
    assert (best.text, best.plate_format) == ("A123BC77", "generic")
    # ... with a lower confidence than a plate of a known layout read as surely
    known = rank_candidates(line(chars("AB123CD")), AR_CAMERA)[0]
    assert known.plate_format == "AR" and best.score < 0.7 * known.score
    # short and long ends of the range
    assert rank_candidates(line(chars("K9")), AR_CAMERA)[0].plate_format == "generic"
    assert rank_candidates(line(chars("AB12CD345")), AR_CAMERA)[0].text == "AB12CD345"


@pytest.mark.parametrize(
    ("plate", "fmt"), [("BO", "BO"), ("CL", "CL"), ("GT", "GT"), ("MX", "MX"), ("EC", "EC")]
)
def test_new_presets_read_their_plates_at_a_camera_of_another_country(plate, fmt):
    text = {"BO": "2345ABC", "CL": "BBCC12", "GT": "P123ABC", "MX": "ABC123D", "EC": "ABC1234"}[plate]
    best = rank_candidates(line(chars(text)), AR_CAMERA)[0]
    assert best.text == text
    # shapes several countries share (P123ABC is also an Argentine motorcycle layout)
    assert best.plate_format in (fmt, "AR", "BR", "UY", "PE", "CO", "HN", "US")


def test_a_valid_foreign_plate_is_never_repaired_into_the_local_format():
    # BR Mercosur and PY at an AR camera stay themselves
    assert rank_candidates(line(chars("ABC1D23")), AR_CAMERA)[0].plate_format == "BR"
    assert rank_candidates(line(chars("ABCD123")), AR_CAMERA)[0].text == "ABCD123"
    # a Bolivian 2345ABC whose first digit might be a Z: the Argentine motorcycle layout Z345ABC
    # scores as high, but the read as recognised is a valid Bolivian plate, which is kept
    seq = line([{"2": 0.5, "Z": 0.45}] + chars("345ABC"))
    cands = rank_candidates(seq, AR_CAMERA)
    assert (cands[0].text, cands[0].plate_format) == ("2345ABC", "BO")
    assert "Z345ABC" in [c.text for c in cands]  # still a candidate, for search
    # at a Bolivian camera the same read is of course Bolivian; at an AR-only camera, AR decides
    assert rank_candidates(seq, ["AR"])[0].text == "Z345ABC"


def test_a_letters_only_slot_never_receives_a_digit():
    # old Argentine ABC 123: "O0H058" (the second O read as a zero) is OOH058 at an AR camera,
    # although Peru's A1B-123 layout would take the zero as it is
    seq = line(["O", {"0": 0.8, "O": 0.15}, "H"] + chars("058"))
    best = rank_candidates(seq, AR_CAMERA)[0]
    assert (best.text, best.plate_format) == ("OOH058", "AR")
    # an 8 read where a letter must be becomes B, and no AR candidate has a digit in a letter slot
    seq = line(chars("AB123C") + [{"8": 0.7, "B": 0.2, "3": 0.1}])
    cands = rank_candidates(seq, AR_CAMERA, top_n=8)
    assert cands[0].text == "AB123CB"
    for c in cands:
        if c.plate_format == "AR":
            slots = parse_pattern(c.pattern)
            assert all(ch in LETTERS for ch, k in zip(c.text, slots, strict=True) if k == LETTERS), c


def test_generic_reads_of_words_and_house_numbers_score_low():
    # letters-only or digits-only text (a sign, a house number) gets the plain loose prior
    for text in ("HOTEL", "1234", "FARMACIA"):
        best = rank_candidates(line(chars(text)), AR_CAMERA)
        assert not best or best[0].plate_format != "generic" or best[0].score < 0.5, text
    assert np.isfinite(rank_candidates(line(chars("AB12")), AR_CAMERA)[0].score)


def test_the_reader_records_a_rendered_plate_of_unknown_layout_at_an_ar_camera():
    from pipelines.plates.engine import get_engine
    from pipelines.plates.reader import PlateReader
    from pipelines.synth.plates import render_plate

    reader = PlateReader(formats=AR_CAMERA, device="cpu", engine=get_engine("cpu"))
    read = reader.read_crop(render_plate("A123BC77", "AR", 64))  # a Russian-style number, AR-style plate
    assert read is not None and (read.text, read.plate_format) == ("A123BC77", "generic")
    assert read.ctc is not None and read.ctc.shape[1] == 38
    # a Bolivian plate at the same camera is read as Bolivian, not dropped nor forced into AR
    bo = reader.read_crop(render_plate("2345KXZ", "BO", 64))
    assert bo is not None and (bo.text, bo.plate_format) == ("2345KXZ", "BO")
