"""Plate formats: normalisation, every preset's validation and repair, format choice."""

from __future__ import annotations

import pytest

from pipelines.plates.formats import (
    PRESETS,
    best_format,
    get_format,
    normalize,
    parse_pattern,
    repair_to_pattern,
    validate,
)


def test_normalize_keeps_uppercase_letters_and_digits_only():
    assert normalize("ab-123 cd") == "AB123CD"
    assert normalize(" AB·123:CD\n") == "AB123CD"
    assert normalize("ÁBC 1Ç4") == "ABC1C4"
    assert normalize("₅-_/\\") == ""
    assert normalize("") == ""


def test_presets_named_in_the_interface_exist():
    assert {"AR", "BR", "PY", "UY", "PE", "SV", "US", "EU", "generic"} <= set(PRESETS)
    with pytest.raises(ValueError, match="unknown plate format"):
        get_format("XX")


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("AR", ["AB123CD", "ABC123", "A123BCD", "123ABC"], ["AB1234D", "ABCD123", "AB123C", "AB123C1"]),
        ("BR", ["ABC1D23", "ABC1234"], ["AB1CD23", "ABCD123", "ABC12D3"]),
        ("PY", ["ABCD123"], ["ABC1234", "ABCD12", "AB12CD3"]),
        ("UY", ["ABC1234"], ["ABCD123", "ABC123", "AB12345"]),
        ("PE", ["ABC123", "A1B123"], ["ABC1234", "AB1234", "123ABC"]),
        ("SV", ["P123456", "AB12345", "M12345"], ["R123456", "P12345A", "PP1234567"]),
        ("US", ["ABC1234", "7ABC123", "GWAGEN", "AB"], ["ABCDEFGHI"]),
        ("EU", ["RK755AJ", "1B80338", "M5XSX", "WOBVWMK4"], ["ABC", "ABCDEFGHIJ"]),
        ("generic", ["AB", "ABC", "ABCD", "AB12CD345"], ["A", "ABCDE12345"]),
        ("BO", ["1234ABC", "123ABC"], ["ABC1234", "12ABC"]),
        ("CL", ["BBCC12", "AB1234", "BBB12"], ["BBCC123", "ABC123", "BACA12", "BUS12"]),
        ("CO", ["ABC123", "ABC12D"], ["AB1234", "ABCD12"]),
        ("EC", ["ABC1234", "ABC123", "AB123C"], ["ABCD123", "1234ABC"]),
        ("MX", ["ABC123D", "ABC1234", "A123BCD"], ["AB", "ABCDEFGH"]),
        ("GT", ["P123ABC", "M123ABC", "TC123ABC"], ["X123ABC", "P1234AB"]),
        ("HN", ["HAB1234", "AB1234"], ["HAB123", "1234HAB"]),
    ],
)
def test_every_preset_validates_its_own_plates_and_rejects_others(fmt, good, bad):
    for text in good:
        assert validate(text, fmt), (fmt, text)
    for text in bad:
        assert not validate(text, fmt), (fmt, text)


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        # Argentina AB 123 CD: a 0 where a letter must be becomes O, a B where a digit must be 8
        ("AB1230D", ["AR"], ("AB123OD", "AR")),
        ("A8123CD", ["AR"], ("AB123CD", "AR")),
        ("AB12SCD", ["AR"], ("AB125CD", "AR")),
        ("A8-I23-CD", ["AR"], ("AB123CD", "AR")),
        # Brazil ABC1D23: the 5th character is a letter, 4th/6th/7th digits
        ("A8C1D23", ["BR"], ("ABC1D23", "BR")),
        ("A8C1D2S", ["BR"], ("ABC1D25", "BR")),  # Mercosur: 2 repairs; legacy ABC1234 would need 3
        ("ABCI0Z3", ["BR"], ("ABC1023", "BR")),  # legacy: 2 repairs (I, Z); Mercosur would need 3 (I, 0, Z)
        # Paraguay ABCD 123
        ("ABCD12S", ["PY"], ("ABCD125", "PY")),
        ("A8CD123", ["PY"], ("ABCD123", "PY")),
        # Uruguay ABC 1234
        ("ABC1Z34", ["UY"], ("ABC1234", "UY")),
        ("4BC1234", ["UY"], ("ABC1234", "UY")),
        # Peru ABC-123
        ("ABC12G", ["PE"], ("ABC126", "PE")),
        # El Salvador P 123-456: the prefix is a class letter
        ("PI23456", ["SV"], ("P123456", "SV")),
        ("P12345G", ["SV"], ("P123456", "SV")),
        # EU: the AB 123 CD layout repairs a letter O read among the digits; vanity plates stay as read
        ("RKO99AN", ["EU"], ("RK099AN", "EU")),
        ("GWAGEN", ["EU"], ("GWAGEN", "EU")),
        ("RK-O99-AN", ["EU"], ("RK099AN", "EU")),
        # generic: no repair, just A-Z0-9 of 2..9
        ("ab-12", ["generic"], ("AB12", "generic")),
    ],
)
def test_repair_moves_each_character_into_the_class_its_position_requires(text, formats, expected):
    assert best_format(text, formats) == expected


def test_a_read_that_already_fits_is_never_repaired():
    for name, fmt in PRESETS.items():
        for ex in fmt.examples:
            assert best_format(ex, [name]) == (ex, name), (name, ex)


def test_format_order_breaks_ties_and_fewer_repairs_win():
    # ABC1234 is a valid Uruguayan and a valid legacy Brazilian plate: the first listed wins
    assert best_format("ABC1234", ["UY", "BR"]) == ("ABC1234", "UY")
    assert best_format("ABC1234", ["BR", "UY"]) == ("ABC1234", "BR")
    # fits PY with no repair, AR only with repairs: PY wins although AR is listed first
    assert best_format("ABCD123", ["AR", "PY"]) == ("ABCD123", "PY")
    # a strict pattern with one repair beats a loose match; with two repairs the loose one wins
    assert best_format("RK1S0AN", ["EU"]) == ("RK150AN", "EU")
    assert best_format("RKIS0AN", ["EU"]) == ("RKIS0AN", "EU")
    assert best_format("AB1230D", ["EU"]) == ("AB123OD", "EU")
    # ... but fitting a pattern as read beats any repair: ABC1234 is a legacy Brazilian plate
    assert best_format("ABC1234", ["BR"]) == ("ABC1234", "BR")


def test_nothing_fits():
    assert best_format("AB12", ["AR", "BR", "PY", "UY", "PE", "SV"]) is None
    assert best_format("ABCDEFGHIJ", ["generic"]) is None
    assert best_format("", ["generic"]) is None
    assert best_format("AB-123-XY", ["SV"]) is None  # no character can become a digit/prefix here
    assert best_format("RB12345", ["SV"]) is None  # R is not an El Salvador class prefix


def test_patterns_and_repairs_of_single_positions():
    assert parse_pattern("L[PA]D") == ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "PA", "0123456789")
    with pytest.raises(ValueError):
        parse_pattern("LX")
    assert repair_to_pattern("0O", "LD") == "O0"
    assert repair_to_pattern("IL", "DD") == "11"
    assert repair_to_pattern("8B", "LD") == "B8"
    assert repair_to_pattern("S5", "DL") == "5S"
    assert repair_to_pattern("Z2", "DL") == "2Z"
    assert repair_to_pattern("G6", "DL") == "6G"
    assert repair_to_pattern("3", "L") is None  # 3 looks like no letter
    assert repair_to_pattern("AB", "L") is None  # wrong length
