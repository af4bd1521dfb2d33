"""The app's images: a 28x28 digit zoomed with its pixels visible, a perturbation as a heatmap with
its colour bar, and `png_url`, which sends an image inside the page (a `data:` URL).

The pages send digits and perturbations at their own 28x28 size (`digit_url`, `perturbation_url`)
and let the browser enlarge them (`st.image(..., width=...)`, drawn with `image-rendering:
pixelated` by app/assets/page.css): a sixteenth of the pixels to encode and send. Every data URL
is kept in one bounded cache shared by every session, keyed on the image's bytes, so the same
digit at the same eps for the same model is encoded once for the whole class.

Not a page (the navigation lists only the files in streamlit_app.TALK). numpy and Pillow only.
"""

from __future__ import annotations

import collections
import hashlib
import threading

import numpy as np

# Pixels per MNIST pixel when a 28x28 digit is shown (nearest neighbour: no blur, pixels visible).
ZOOM = 4


def digit_image(x: np.ndarray, zoom: int = ZOOM) -> np.ndarray:
    """A 784-pixel image in [0, 1] as uint8 [28 zoom, 28 zoom], each pixel a zoom x zoom block."""
    img = np.rint(np.clip(np.asarray(x, dtype=np.float32).reshape(28, 28), 0, 1) * 255).astype(np.uint8)
    return _zoom(img, zoom)


def digit_url(x: np.ndarray) -> str:
    """A 784-pixel image in [0, 1] as the data URL of its 28x28 grayscale PNG (cached; show it with
    `st.image(url, width=28 * zoom)`, the browser enlarges it with its pixels visible)."""
    return png_url(digit_image(x, zoom=1))


def perturbation_url(delta: np.ndarray, scale: float) -> str:
    """`perturbation_image` of delta [784] at 28x28 as a PNG data URL (cached), shown as `digit_url`."""
    return png_url(perturbation_image(delta, scale, zoom=1))


class _UrlCache:
    """A bounded, thread-safe least-recently-used map from an image's bytes (their blake2b digest) to
    its PNG data URL, shared by every session of the process (a URL is about 0.3 to 1 kB at 28x28)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._urls: collections.OrderedDict[bytes, str] = collections.OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(arr: np.ndarray) -> bytes:
        """The digest of shape and pixels (uint8): equal images, equal keys."""
        return hashlib.blake2b(repr(arr.shape).encode() + np.ascontiguousarray(arr).tobytes(),
                               digest_size=16).digest()

    def get(self, key: bytes) -> str | None:
        with self._lock:
            url = self._urls.get(key)
            if url is not None:
                self._urls.move_to_end(key)
            return url

    def put(self, key: bytes, url: str) -> None:
        with self._lock:
            self._urls[key] = url
            self._urls.move_to_end(key)
            while len(self._urls) > self.max_entries:
                self._urls.popitem(last=False)

    def __len__(self) -> int:
        return len(self._urls)


# About 4 MB at most: every gallery image of a few hundred (digit set, eps) choices, and the draw page's.
URL_CACHE = _UrlCache(max_entries=8192)


def png_url(img: np.ndarray) -> str:
    """A uint8 image [H, W] or [H, W, 3] as a `data:` URL of a PNG, for `st.image` (cached in
    `URL_CACHE` by its pixels: an image seen before costs a digest, not an encoding).

    `st.image` of an array encodes it, opens the PNG twice more to check its format and size, and
    registers it with Streamlit's media file manager under one lock shared by every session; each
    browser then fetches it over HTTP. For the app's small images (a 112x112 digit is about 1 kB)
    that bookkeeping cost more than the attack: under a 30-student load, `st.image` was a third of
    the server's CPU, most of it threads queueing on that lock (py-spy, benchmarks/class_load.py).
    A data URL goes out inside the element itself: one PNG encoding (`png_bytes`), nothing
    stored, nothing fetched.
    """
    import base64

    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"png_url takes a uint8 [H, W] or [H, W, 3|4] image, got {arr.dtype} {arr.shape}")
    key = URL_CACHE.key(arr)
    if (url := URL_CACHE.get(key)) is not None:
        return url
    url = "data:image/png;base64," + base64.b64encode(png_bytes(arr)).decode("ascii")
    URL_CACHE.put(key, url)
    return url


def png_bytes(arr: np.ndarray) -> bytes:
    """A uint8 image [H, W] (grey), [H, W, 3] (RGB) or [H, W, 4] (RGBA) as PNG file bytes: 8 bits per
    channel, no filter, zlib level 1. Written directly (signature, IHDR, one IDAT, IEND): for the
    app's 28x28 images Pillow's setup cost several times the compression itself."""
    import struct
    import zlib

    h, w = arr.shape[:2]
    colour = 0 if arr.ndim == 2 else {3: 2, 4: 6}[arr.shape[2]]  # PNG colour types: grey, RGB, RGBA

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = np.ascontiguousarray(arr).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter byte 0 per row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def figure_html(url: str, alt: str, caption: str, css_class: str | None = None) -> str:
    """An image (a `png_url` data URL) with its alt text and a caption below it, as one HTML
    <figure>, for a grid of images sent as ONE `st.html` element (an `st.image` and an `st.caption`
    are a message each). alt and caption are plain text (escaped here); css_class: the figure's."""
    import html

    cls = f" class='{html.escape(css_class)}'" if css_class else ""
    return (f"<figure{cls}><img src='{html.escape(url)}' alt='{html.escape(alt)}'>"
            f"<figcaption>{html.escape(caption, quote=False)}</figcaption></figure>")


def _zoom(img: np.ndarray, zoom: int) -> np.ndarray:
    """Each pixel of a [H, W] or [H, W, C] image as a zoom x zoom block (np.repeat: a tenth of
    np.kron's time, and this runs for every image of every slider move)."""
    return np.repeat(np.repeat(img, zoom, axis=0), zoom, axis=1)


# Diverging colours for a perturbation: purple where a pixel got darker, green where it got brighter
# (ColorBrewer PRGn ends, readable with red-green colour blindness); white where untouched.
_DARKER = np.array([118, 42, 131], dtype=np.float32)
_BRIGHTER = np.array([27, 120, 55], dtype=np.float32)
_WHITE = np.array([255, 255, 255], dtype=np.float32)


def _diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """RGB uint8 [..., 3] of values: white at 0, full green at +scale, full purple at -scale."""
    v = np.asarray(values, dtype=np.float32)
    t = np.clip(np.abs(v) / scale, 0, 1)[..., None] if scale > 0 else np.zeros(v.shape + (1,), np.float32)
    end = np.where((v > 0)[..., None], _BRIGHTER, _DARKER)
    return np.rint(_WHITE + t * (end - _WHITE)).astype(np.uint8)


def perturbation_image(delta: np.ndarray, scale: float, zoom: int = ZOOM) -> np.ndarray:
    """A perturbation [784] as an RGB uint8 heatmap image: green brighter, purple darker, white 0.

    scale: the |delta| drawn at full colour (the attack's eps, or 3 std for noise).
    """
    rgb = _diverging(np.asarray(delta).reshape(28, 28), scale)
    return _zoom(rgb, zoom)


def perturbation_legend(scale: float, width: int = 28 * ZOOM, height: int = 10) -> np.ndarray:
    """The colour bar of `perturbation_image`, RGB uint8 [height, width, 3]: -scale left, +scale right."""
    return np.repeat(_diverging(np.linspace(-scale, scale, width), scale)[None], height, axis=0)
