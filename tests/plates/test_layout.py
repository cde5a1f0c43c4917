"""Text-box geometry: plate shapes, split lines, two-row plates, captions, crops, ink polarity."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.plates.layout import (
    TextBox,
    crop_quad,
    dark_on_light,
    is_subordinate,
    overlap_ratio,
    shape_prior,
    side_by_side,
    stacked,
    union_box,
)


def box(x1: float, y1: float, x2: float, y2: float) -> TextBox:
    return TextBox(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32))


def test_box_measures():
    b = box(10, 20, 110, 45)
    assert (b.width, b.height, b.aspect) == (100, 25, 4)
    assert b.rect == (10, 20, 110, 45)
    assert union_box([box(0, 0, 10, 10), box(20, 5, 30, 30)]).rect == (0, 0, 30, 30)


def test_shape_prior_favours_plate_proportions():
    assert shape_prior(box(0, 0, 120, 30)) == 1.0  # one-row plate text, 4:1
    assert shape_prior(box(0, 0, 30, 30)) < 0.7  # a square blob
    assert shape_prior(box(0, 0, 600, 30)) < 0.5  # a long caption
    assert shape_prior(box(0, 0, 80, 60), rows=2) == 1.0  # two-row block


def test_two_rows_stack_and_captions_do_not():
    top, bottom = box(100, 100, 160, 125), box(95, 130, 170, 157)
    assert stacked(top, bottom) and not stacked(bottom, top)
    far = box(100, 200, 160, 225)
    assert not stacked(top, far)
    tiny_caption = box(110, 128, 150, 136)  # MERCOSUR-size text under a row: not a second row
    assert not stacked(top, tiny_caption)
    shifted = box(300, 130, 360, 157)  # no horizontal overlap
    assert not stacked(top, shifted)


def test_pieces_of_one_line_continue_each_other():
    left, right = box(100, 100, 130, 125), box(145, 101, 220, 126)
    assert side_by_side(left, right) and not side_by_side(right, left)
    assert not side_by_side(left, box(300, 100, 360, 125))  # gap too wide
    assert not side_by_side(left, box(140, 140, 200, 165))  # next line down
    assert not side_by_side(left, box(140, 95, 200, 150))  # much taller


def test_small_text_next_to_big_text_is_a_caption():
    plate = box(100, 100, 300, 150)
    dealer = box(120, 155, 280, 170)
    sign = box(600, 100, 700, 118)
    boxes = [plate, dealer, sign]
    assert is_subordinate(dealer, boxes)
    assert not is_subordinate(plate, boxes)
    assert not is_subordinate(sign, boxes)  # small but far from anything bigger


def test_crop_straightens_a_rotated_line_with_margin():
    img = np.zeros((200, 300, 3), np.uint8)
    img[80:120, 50:250] = 255
    quad = np.array([[50, 80], [250, 80], [250, 120], [50, 120]], np.float32)
    crop = crop_quad(img, quad, pad_x=0.0, pad_y=0.0)
    assert crop.shape == (40, 200, 3) and crop.mean() > 250
    crop = crop_quad(img, quad)
    assert crop.shape[0] > 40 and crop.shape[1] > 200  # margin included
    rot = np.array([[50, 100], [250, 60], [258, 100], [58, 140]], np.float32)
    assert crop_quad(img, rot).shape[1] > crop_quad(img, rot).shape[0] * 3


def test_dark_on_light_tells_plates_from_signs():
    plate = np.full((40, 160, 3), 235, np.uint8)
    sign = np.full((40, 160, 3), (40, 110, 30), np.uint8)
    for x in range(10, 150, 20):  # characters: 6 px strokes
        plate[8:32, x : x + 6] = 20
        sign[8:32, x : x + 6] = 250
    assert dark_on_light(plate)
    assert not dark_on_light(sign)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (5, 5, 15, 15), 0.25),
        ((0, 0, 10, 10), (2, 2, 4, 4), 1.0),
        ((0, 0, 1, 1), (2, 2, 3, 3), 0.0),
    ],
)
def test_overlap_ratio(a, b, expected):
    assert overlap_ratio(a, b) == pytest.approx(expected)
