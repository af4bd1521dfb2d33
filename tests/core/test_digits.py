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


# --- what a client may send ------------------------------------------------------------------------


def _png(width: int, height: int, mode: str = "RGBA") -> bytes:
    import io

    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def test_the_canvas_png_is_decoded_at_its_own_size():
    from core.digits import decode_canvas_png, png_size

    data = _png(280, 280)
    assert png_size(data) == (280, 280)
    rgba = decode_canvas_png(data, 280)
    assert rgba.shape == (280, 280, 4) and rgba.dtype == np.uint8
    assert decode_canvas_png(_png(560, 560), 280).shape == (560, 560, 4)  # a device pixel ratio of 2


@pytest.mark.parametrize("size", [(6000, 6000), (281, 280), (280, 560), (28, 28), (1120, 1120)])
def test_any_other_size_is_refused_before_decoding(size, monkeypatch):
    from core import digits

    data = _png(*size, mode="1")  # a 6000x6000 PNG of one bit per pixel is a few kB on the wire
    assert len(data) < 200_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a PNG of the wrong size")

    monkeypatch.setattr(digits.Image, "open", no_decoding)
    with pytest.raises(InputError, match=rf"{size[0]}x{size[1]} pixels"):
        digits.decode_canvas_png(data, 280)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + bytes(40), b"\x89PNG\r\n\x1a\n" + bytes(8)])
def test_not_a_png_is_refused(data):
    from core.digits import decode_canvas_png

    with pytest.raises(InputError, match="not a PNG"):
        decode_canvas_png(data, 280)


def test_a_truncated_png_of_the_right_size_is_an_input_error():
    from core.digits import decode_canvas_png

    data = _png(280, 280)
    with pytest.raises(InputError, match="cannot be read"):
        decode_canvas_png(data[:60], 280)


@pytest.mark.parametrize("box", [(130, 130, 150, 150), (100, 200, 118, 212)], ids=["dot", "speck"])
def test_a_dot_gets_a_hint_not_a_prediction(box):
    from core.digits import TooSmallDrawingError

    with pytest.raises(TooSmallDrawingError, match="only a dot"):
        to_mnist(canvas(lambda d, s: d.ellipse(box, fill="white")))
    assert issubclass(TooSmallDrawingError, EmptyDrawingError)


def test_a_small_but_real_digit_is_still_read():
    x = to_mnist(canvas(lambda d, s: d.line([(140, 100), (140, 160)], fill="white", width=8)))  # a "1"
    assert x.max() > 0.5


def test_an_inverted_drawing_is_detected():
    from core.digits import InvertedDrawingError

    def dark_on_light(d, s):
        d.rectangle([0, 0, 279, 279], fill="white")
        d.line([(140, 40), (140, 240)], fill="black", width=s)

    with pytest.raises(InvertedDrawingError, match="dark on a light background"):
        to_mnist(canvas(dark_on_light))
    light = np.full((28, 28), 0.9, np.float32)
    light[5:23, 13:15] = 0.0
    with pytest.raises(InvertedDrawingError):
        to_mnist(light)
