"""core.digits: a canvas drawing becomes an MNIST-style 28x28 digit (20x20 box, centred by mass)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from core.digits import BOX_SIZE, CENTRE, INK_THRESHOLD, EmptyDrawingError, centre_of_mass, to_mnist
from core.errors import InputError


def canvas(draw_fn, size: int = 280, stroke: int = 18) -> np.ndarray:
    """An RGBA uint8 [size, size, 4] image as st_canvas returns it: white strokes on opaque black."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    draw_fn(ImageDraw.Draw(img), stroke)
    return np.asarray(img)


def ink_box(x: np.ndarray) -> tuple[int, int]:
    """Height and width of the bounding box of the pixels above the ink threshold."""
    rows = np.flatnonzero((x > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((x > INK_THRESHOLD).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("where", [(30, 40), (150, 170), (60, 160)])
def test_a_drawn_shape_is_centred_by_mass_and_fits_the_20x20_box(where):
    top, left = where
    # An off-centre "L": its centre of mass is far from its bounding-box centre.
    image = canvas(lambda d, s: (d.line([(left, top), (left, top + 90)], fill="white", width=s),
                                 d.line([(left, top + 90), (left + 60, top + 90)], fill="white", width=s)))
    x = to_mnist(image)
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    r, c = centre_of_mass(x)
    assert abs(r - CENTRE) <= 1.0 and abs(c - CENTRE) <= 1.0
    h, w = ink_box(x)
    assert max(h, w) <= BOX_SIZE + 1  # the anti-aliased rim may add a pixel


def test_aspect_ratio_is_kept():
    # A filled bar 3 times taller than wide (stroke included) ends up 20 tall and about 20/3 wide.
    image = canvas(lambda d, s: d.rectangle([120, 50, 149, 139], fill="white"))  # 30 x 90 px
    x = to_mnist(image)
    h, w = ink_box(x)
    assert h in (BOX_SIZE, BOX_SIZE + 1)
    assert abs(h / w - 3.0) < 0.6, (h, w)


def test_the_scale_does_not_depend_on_where_or_how_big_the_digit_is_drawn():
    small = to_mnist(canvas(lambda d, s: d.ellipse([20, 20, 80, 110], outline="white", width=6)))
    large = to_mnist(canvas(lambda d, s: d.ellipse([60, 20, 240, 270], outline="white", width=18)))
    assert ink_box(small)[0] in (BOX_SIZE, BOX_SIZE + 1)
    assert ink_box(large)[0] in (BOX_SIZE, BOX_SIZE + 1)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280, 4), dtype=np.uint8),                                       # transparent
        np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),  # black
        np.zeros((50, 60), dtype=np.float32),
        np.full((280, 280), 0.05, dtype=np.float32),                                   # below the ink threshold
    ],
    ids=["transparent", "opaque-black", "gray-zeros", "faint"],
)
def test_an_empty_drawing_is_the_hint_path(image):
    with pytest.raises(EmptyDrawingError, match="empty"):
        to_mnist(image)


def test_white_strokes_on_a_transparent_canvas_count_as_ink():
    image = np.zeros((280, 280, 4), dtype=np.uint8)
    image[60:220, 130:150] = (255, 255, 255, 255)
    x = to_mnist(image)
    assert x.max() > 0.9 and ink_box(x)[0] in (BOX_SIZE, BOX_SIZE + 1)


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((280, 280, 2), np.uint8), "shape"),
        (np.zeros((4, 280, 280, 4), np.uint8), "shape"),
        (np.zeros(784, np.uint8), "shape"),
        (np.zeros((280, 280, 4), np.float32), "uint8"),
        (np.zeros((28, 28), np.int32), "dtype"),
        (np.full((28, 28), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((28, 28), np.nan, np.float32), "NaN"),
        (np.zeros((0, 5), np.uint8), "empty"),
    ],
)
def test_bad_inputs_raise_input_error(image, match):
    with pytest.raises(InputError, match=match):
        to_mnist(image)


def test_empty_drawing_error_is_not_an_input_error():
    # The page shows a hint for an empty canvas but an error for bad input: keep them apart.
    assert not issubclass(EmptyDrawingError, InputError)


def upscaled(digit: np.ndarray, size: int = 280) -> np.ndarray:
    """A 28x28 digit in [0, 1] drawn at canvas size, as RGBA like st_canvas's image_data."""
    big = np.asarray(Image.fromarray(np.rint(digit * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR))
    return np.dstack([big, big, big, np.full_like(big, 255)])


def test_mnist_test_digits_survive_the_round_trip(mnist_small, tiny_model):
    """Upscale real test digits to 280x280 and convert back: same image up to a sub-pixel shift."""
    _, _, x_test, _ = mnist_small
    digits = x_test[:100].reshape(-1, 28, 28)
    back = np.stack([to_mnist(upscaled(d)) for d in digits])
    corr = np.array([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(digits, back)])
    # MNIST centres by whole pixels too, so a digit can come back one pixel over: a correlation of
    # about 0.7 then; most come back in place.
    assert np.median(corr) > 0.9, np.median(corr)
    assert corr.min() > 0.5, corr.min()
    with torch.no_grad():
        pred_orig = tiny_model(torch.from_numpy(digits.reshape(-1, 784))).argmax(1)
        pred_back = tiny_model(torch.from_numpy(back.reshape(-1, 784))).argmax(1)
    agree = float((pred_orig == pred_back).float().mean())
    assert agree >= 0.95, agree
