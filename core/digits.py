"""A drawing turned into an MNIST digit: cropped, scaled into 20x20 and centred by mass in 28x28.

MNIST's own preprocessing (LeCun, Bottou, Bengio and Haffner 1998; the MNIST page): each digit's
bounding box was scaled, aspect ratio preserved, to fit a 20x20 box with anti-aliasing, then placed
in a 28x28 field so that its centre of mass sits at the centre. The test digits' centres of mass
average (14.0, 14.0) in row/column index units with a spread of 0.29 px, i.e. an integer shift to
pixel (14, 14); `to_mnist` does the same so a drawing looks like the data the models were
trained on.

numpy and Pillow only: the app calls this on every stroke, tests call it without Streamlit.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct

import numpy as np
from PIL import Image

from core.errors import InputError, RobustnessError

MNIST_SIZE = 28
BOX_SIZE = 20
# Row and column index of the centre of mass in MNIST (see the module docstring).
CENTRE = 14.0
# A pixel counts as ink, for the bounding box and the emptiness test, above this intensity in [0, 1]:
# low enough to keep a stroke's anti-aliased rim, high enough to ignore compression speckle.
INK_THRESHOLD = 0.1
# A drawing whose ink spans less than this fraction of the canvas side is a dot or a speck: scaled
# up into the 20x20 box it would look like nothing in MNIST, so it gets a hint, not a prediction.
MIN_EXTENT = 0.15
# The border (this fraction of each side) of a drawing: mostly light means dark ink on a light
# background, the opposite of MNIST.
BORDER = 0.05
# What a client may send as the canvas: a PNG of the canvas's size at a device pixel ratio of 1 to 3.
CANVAS_SCALES = (1, 2, 3)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class EmptyDrawingError(RobustnessError):
    """The drawing has no ink: nothing to classify (the app shows a hint, not an error)."""


class TooSmallDrawingError(EmptyDrawingError):
    """The ink is a dot or a speck, too small to be a digit (a hint, not a prediction)."""


class InvertedDrawingError(RobustnessError):
    """Dark ink on a light background: MNIST digits are light on black (a hint, not a prediction)."""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header, without decoding it. Raises InputError if not a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise InputError("the canvas sent something that is not a PNG image")
    return struct.unpack(">II", data[16:24])


def decode_canvas_png(data: bytes, size: int, scales: tuple[int, ...] = CANVAS_SCALES) -> np.ndarray:
    """A canvas PNG as RGBA uint8 [H, W, 4], after checking its size in the header.

    Anything but the canvas's own size (size x size, times a device pixel ratio in `scales`) is
    refused before a single pixel is decoded: a forged 6000x6000 PNG is 198 kB on the wire but
    144 MB once decoded.

    Args: data: the PNG bytes (st_canvas(...).image_bytes). size: the canvas side in CSS pixels.
    Raises InputError naming the size it got.
    """
    width, height = png_size(data)
    allowed = [size * k for k in scales]
    if width != height or width not in allowed:
        raise InputError(f"the canvas image is {width}x{height} pixels; a drawing from this page is "
                         f"{size}x{size} (or {', '.join(f'{a}x{a}' for a in allowed[1:])} on a high-density screen)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.size != (width, height):
                raise InputError("the canvas image's header and its size disagree")
            return np.asarray(img.convert("RGBA"))
    except (OSError, ValueError, Image.DecompressionBombError):
        # Not PIL's message: it names the buffer object (`<_io.BytesIO object at 0x...>`).
        raise InputError("the canvas image cannot be read: it is not a whole PNG image") from None


PNG_DATA_URL = "data:image/png;base64,"


def png_from_data_url(url: object, max_bytes: int = 2_000_000) -> bytes:
    """The PNG bytes of a canvas's `data:image/png;base64,...` URL, strictly decoded.

    The URL comes from the browser, so from anyone: anything but a base64 PNG data URL of at most
    `max_bytes` (decoded) raises InputError, with a message that quotes nothing of it.
    """
    if not isinstance(url, str) or not url.startswith(PNG_DATA_URL):
        raise InputError("the canvas sent something that is not a PNG data URL")
    encoded = url[len(PNG_DATA_URL):]
    if len(encoded) > (max_bytes + 2) // 3 * 4:
        raise InputError(f"the canvas image is larger than {max_bytes // 1000} kB")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the canvas image is not valid base64") from None


def intensity(image: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1], float32 [H, W], of a canvas image or a grayscale image.

    Accepts:
        * RGBA uint8 [H, W, 4] as `st_canvas(...).image_data` returns it: light strokes on a dark or
          transparent background; intensity = luminance x alpha (transparent pixels are background);
        * RGB uint8 [H, W, 3]: luminance;
        * grayscale [H, W]: uint8 0..255, or floating point in [0, 1].
    Raises `InputError` for any other shape or dtype, or float pixels outside [0, 1].
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        if arr.dtype != np.uint8:
            raise InputError(f"a colour image must be uint8 (0..255), got dtype {arr.dtype}")
        rgb = arr[..., :3].astype(np.float32) / np.float32(255.0)
        # ITU-R BT.601 luma, as PIL's convert("L").
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if arr.shape[2] == 4:
            gray = gray * (arr[..., 3].astype(np.float32) / np.float32(255.0))
    elif arr.ndim == 2:
        if arr.dtype == np.uint8:
            gray = arr.astype(np.float32) / np.float32(255.0)
        elif np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)):
                raise InputError("the image contains NaN or infinite pixels")
            if arr.size and (arr.min() < 0 or arr.max() > 1):
                raise InputError(
                    f"float pixels must lie in [0, 1], got [{arr.min():.4g}, {arr.max():.4g}]; "
                    "pass uint8 for 0..255 images"
                )
            gray = arr.astype(np.float32)
        else:
            raise InputError(f"a grayscale image must be uint8 or float in [0, 1], got dtype {arr.dtype}")
    else:
        raise InputError(
            f"expected an RGBA [H, W, 4] or RGB [H, W, 3] uint8 image or a grayscale [H, W] one, "
            f"got shape {arr.shape}"
        )
    if gray.shape[0] < 1 or gray.shape[1] < 1:
        raise InputError(f"the image is empty (shape {arr.shape})")
    return np.clip(gray, 0.0, 1.0)


def is_inverted(gray: np.ndarray) -> bool:
    """True when the border of an intensity image [H, W] in [0, 1] is mostly ink (dark on light)."""
    h, w = gray.shape
    b = max(1, int(round(BORDER * min(h, w))))
    border = np.concatenate([gray[:b].ravel(), gray[-b:].ravel(), gray[:, :b].ravel(), gray[:, -b:].ravel()])
    return bool(np.mean(border > INK_THRESHOLD) > 0.5)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of a 2-D image with positive total mass."""
    image = np.asarray(image, dtype=np.float64)
    mass = image.sum()
    if mass <= 0:
        raise EmptyDrawingError("the image has no ink, so no centre of mass")
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / mass), float((cols * image).sum() / mass)


def to_mnist(image: np.ndarray) -> np.ndarray:
    """A drawing as an MNIST-style digit: float32 [28, 28] in [0, 1], white ink on black.

    The ink's bounding box is scaled (aspect ratio preserved, anti-aliased) so its longer side is
    20 px, placed in a 28x28 field, and shifted by whole pixels so its centre of mass is at (14, 14).
    Ink shifted past the border is dropped, as in MNIST.

    Args:
        image: see `intensity`; any size (the app's canvas is 280x280).
    Raises:
        EmptyDrawingError: nothing above `INK_THRESHOLD` (a blank or nearly blank canvas), or
            (`TooSmallDrawingError`) ink spanning less than `MIN_EXTENT` of the side: a dot.
        InvertedDrawingError: dark ink on a light background (the border is mostly ink).
        InputError: wrong shape, dtype or range.
    """
    gray = intensity(image)
    if is_inverted(gray):
        raise InvertedDrawingError(
            "the drawing is dark on a light background, but MNIST digits are light strokes on black: "
            "draw with the white pen on the black square (an inverted image would be read as a blob)"
        )
    ink = gray > INK_THRESHOLD
    if not ink.any():
        raise EmptyDrawingError("the drawing is empty: draw a digit (or pick a test digit)")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / max(gray.shape)
    if extent < MIN_EXTENT:
        raise TooSmallDrawingError(
            f"the drawing is only a dot ({100 * extent:.0f}% of the square's side): draw one digit, "
            "large, in the middle, and both networks will say what they see"
        )
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    h, w = crop.shape
    scale = BOX_SIZE / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    # Pillow's resampling widens its kernel when shrinking, so this is anti-aliased (area-weighted).
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32)).resize(
        (new_w, new_h), Image.Resampling.LANCZOS
    )
    patch = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    if patch.sum() <= 0:  # a sub-pixel speck that vanished in the resize
        raise EmptyDrawingError("the drawing is too faint to read: draw a larger, brighter digit")

    com_r, com_c = centre_of_mass(patch)
    top = int(round(CENTRE - com_r))
    left = int(round(CENTRE - com_c))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    # Paste patch at (top, left), clipped to the field.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + new_h, MNIST_SIZE), min(left + new_w, MNIST_SIZE)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = patch[r0 - top : r1 - top, c0 - left : c1 - left]
    return out
