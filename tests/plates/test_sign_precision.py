"""Precision of plate-like text no preset fits: sign text at a camera with no registered format is
not kept as a plate, while a plate of a country with no preset still is (format ``generic``)."""

from __future__ import annotations

import pytest

from pipelines.plates.decode import rank_candidates
from pipelines.plates.evaluate import KEEP_SCORE
from pipelines.plates.reader import DEFAULT_FORMATS
from pipelines.plates.words import generic_plate_likeness, has_non_plate_marks, is_wordlike, letter_runs

from .test_decode import chars, line

NO_FORMAT = list(DEFAULT_FORMATS)  # a camera without a registered format
AR_CAMERA = ["AR"] + [f for f in DEFAULT_FORMATS if f != "AR"]


def best(spec: list, formats: list[str]):
    cands = rank_candidates(line(spec), formats, registered=formats is not NO_FORMAT)
    return cands[0] if cands else None


@pytest.mark.parametrize(
    "sign",
    [
        "ESTACION 4",  # a word and a number (a long letter run)
        "PISO 12",  # a sign word
        "TOMA 12",  # pronounceable letters: a word, not a registry's serial
        "RUTA 40",  # looks like Chile's four letters and two digits, but Chile's serials have no vowels
        "C12",  # a level or gate mark: too short for a plate
        "HOTEL 25",
    ],
)
def test_sign_text_at_a_camera_without_format_is_not_kept_as_a_plate(sign):
    top = best([c if c != " " else " " for c in sign], NO_FORMAT)
    assert top is None or top.score < KEEP_SCORE, (sign, top)


@pytest.mark.parametrize(
    "plate",
    [
        "WX23456",  # Polish
        "12XKB3",  # Dutch sidecode
        "A123BC77",  # Russian with its region
        "79XJG3",
    ],
)
def test_a_plate_of_a_country_without_preset_is_still_kept_as_generic(plate):
    for formats in (NO_FORMAT, AR_CAMERA):
        top = best(chars(plate), formats)
        assert top is not None and (top.text, top.plate_format) == (plate, "generic")
        assert top.score >= KEEP_SCORE, (plate, top.score)


def test_foreign_presets_are_recorded_at_full_strength_unless_their_letters_are_a_sign_word():
    # Bolivian, Chilean and US plates at an AR camera: their own preset, a foreign prior only
    for plate, fmt in (("2345KXZ", "BO"), ("BBCC12", "CL"), ("7ABC123", "US")):
        top = best(chars(plate), AR_CAMERA)
        assert top is not None and (top.text, top.plate_format) == (plate, fmt)
        assert top.score >= 0.75  # 0.9 x 0.98 per character
    # a route sign shaped like a Colombian motorcycle plate ("BUS 60" = ABC 12) stays under the bar
    top = best(chars("BUS") + [" "] + chars("60"), AR_CAMERA)
    assert top is not None and top.score < KEEP_SCORE


def test_plate_likeness_traits():
    assert letter_runs("AB123CD") == ["AB", "CD"]
    assert (
        is_wordlike("ZONA") and is_wordlike("TAKERO") and not is_wordlike("BCDF") and not is_wordlike("XKB")
    )
    assert generic_plate_likeness("WX23456") == 1.0
    assert generic_plate_likeness("GARAGES3") < 0.5  # a long letter run
    assert generic_plate_likeness("K9") < 1.0  # short
    assert (
        has_non_plate_marks("SALE 50%")
        and has_non_plate_marks("$ 1.250")
        and not has_non_plate_marks("AB 123 CD")
    )


def test_another_countrys_layout_does_not_overrule_a_twin_the_recogniser_saw():
    # a Dutch-style 47-RKM-1 at an AR camera: Mexico's DDLLLL layout would take the 1 for an I,
    # a Brazilian layout YS06733's 0 for an O; read as seen, they are generic
    for plate in ("47RKM1", "YS06733", "94231GX"):
        top = best(chars(plate), AR_CAMERA)
        assert top is not None and (top.text, top.plate_format) == (plate, "generic"), top
    # the camera's own layout still decides: O0H058 is OOH058 at an AR camera (test_generic_foreign)
