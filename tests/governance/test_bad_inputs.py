"""Inputs that used to crash get a clear error (issue 12.7): NaN fuzziness, decompression bombs,
negative limits."""

from __future__ import annotations

import struct
import zlib

import pytest

from jobs.cli import main
from pipelines.faces.images import ImageReadError, load_image_rgb
from pipelines.governance.identity import map_os_user
from pipelines.search.plate_match import PatternError, parse_pattern


def png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` (the pixel data is tiny): a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fuzzy", [float("nan"), "nan", float("inf"), -1, "x"])
def test_fuzzy_must_be_a_finite_number(fuzzy):
    with pytest.raises(PatternError, match="fuzzy must be"):
        parse_pattern("ABC123", fuzzy)


@pytest.mark.parametrize("size", [(10_000, 9_000), (20_000, 20_000)])
def test_decompression_bomb_refused_before_decoding(tmp_path, size):
    p = tmp_path / "bomb.png"
    png_header_only(p, *size)
    with pytest.raises(ImageReadError, match="pixels|decompression bomb|exceeds"):
        load_image_rgb(p)


def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys):
    home = tmp_path / "home"
    map_os_user(home, "tester", role="admin", agency=None)
    case = ["--case", "C-1", "--purpose", "test"]
    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, 20_000, 20_000)
    for argv in (
        ["plates", "search", "ABC123", "--fuzzy", "nan", *case],
        ["plates", "search", "ABC123", "--limit", "-5", *case],
        ["plates", "route", "ABC123", "--max-speed", "nan", *case],
        ["faces", "search", str(bomb), *case],
        ["faces", "search", str(bomb), "--k", "-3", *case],
        ["alerts", "list", "--limit", "-1"],
        ["audit", "list", "--limit", "-1"],
        ["login", "--user", "x", "--hours", "inf"],
    ):
        rc = main(["--home", str(home), *argv])
        err = capsys.readouterr().err
        assert rc in (1, 2) and err.startswith("error:") and len(err.strip().splitlines()) == 1, (argv, err)
