"""The address students type to join the class, and its QR code, for the title and "Your turn" slides.

The address comes from the deployment: the environment variable `LECTURE_ADDRESS` holds the base
URL students type (`http://192.168.1.20:8501`). deploy/serve_class.py sets it for its app
processes from `--public-host` and `--port` (`make class PUBLIC_HOST=...`), deploy/serve_app.py
from `--public-host` or the environment variable `PUBLIC_HOST` and Streamlit's port
(`make app PUBLIC_HOST=...`). The class page lives at `<LECTURE_ADDRESS>/class` (pages/classroom.py).

    public_address("192.168.1.20", 8501)  -> "http://192.168.1.20:8501"   (what deploy/ sets)
    join_address()                         -> "http://192.168.1.20:8501/class", or None when unset
    qr_svg(url)                            -> inline SVG, dark on light, named for a screen reader
    show_join(where)                       -> the QR and the address in large letters, or how to set it
"""

from __future__ import annotations

import functools
import html
import ipaddress
import os
import re
import urllib.parse

import segno
import streamlit as st

from core.errors import InputError

ADDRESS_ENV = "LECTURE_ADDRESS"
PUBLIC_HOST_ENV = "PUBLIC_HOST"  # what `make app PUBLIC_HOST=...` / deploy/serve_app.py read
CLASS_PATH = "class"  # the class page's URL path (st.Page(..., url_path="class"))
MODULE_PX = 7  # CSS px per QR module: a version-3 code (37 modules with its quiet zone) is 259 px
ADDRESS_PX = 44  # the address's letters on the slide (>= 40 px at 1280x720, read from the back)
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HOW_TO = ("`make class PUBLIC_HOST=<this machine's address>` (or `make app PUBLIC_HOST=...`), or set "
           f"`{ADDRESS_ENV}=http://<address>:<port>` before `streamlit run`")


def check_public_host(host: str) -> str:
    """The host students type (a host name, an IPv4 or an IPv6 address) as it goes in a URL.

    An IPv6 address comes back in brackets (`[fe80::1]`). Raises InputError, with the fix, for a
    scheme, a port, a path, spaces or anything else that is not a host.
    """
    text = str(host)
    fix = "give the host alone, e.g. PUBLIC_HOST=192.168.1.20 or --public-host lecture.example.edu"
    if not text or any(c.isspace() or c == "%" for c in text):
        raise InputError(f"public host {text!r} is empty or holds spaces (or a %): {fix}")
    if "://" in text or "/" in text:
        raise InputError(f"public host {text!r} holds a scheme or a path: {fix} (no http://, no /path)")
    try:
        return f"[{ipaddress.IPv6Address(text.strip('[]'))}]" if ":" in text else str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    if ":" in text:
        raise InputError(f"public host {text!r} holds a port or is not an IPv6 address: {fix} "
                         "(the port is --port, PORT=... for `make class`, --server.port for `make app`)")
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InputError(f"public host {text!r} is not a host name or an IP address: {fix}")
    return text.rstrip(".")


def public_address(host: str, port: int, scheme: str = "http") -> str:
    """The base URL students type for `host` (checked by `check_public_host`) and `port` (1..65535);
    the port is left out where it is the scheme's own (80 for http, 443 for https)."""
    if not 1 <= int(port) <= 65535:
        raise InputError(f"port {port} is outside 1..65535: choose another --port")
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{check_public_host(host)}" + ("" if int(port) == default else f":{int(port)}")


def check_address(address: str) -> str:
    """A base URL (LECTURE_ADDRESS) checked: http(s), a valid host, an optional port and path prefix,
    no query, no spaces; returned without a trailing slash. Raises InputError with the fix."""
    text = str(address).strip()
    fix = f"set {ADDRESS_ENV} to the URL students type, e.g. http://192.168.1.20:8501, or use {_HOW_TO}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or any(c.isspace() for c in text):
        raise InputError(f"{ADDRESS_ENV}={text!r} is not an http:// or https:// address: {fix}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{ADDRESS_ENV}={text!r} has a bad port: {fix}") from exc
    if parts.username or parts.password or port == 0:
        raise InputError(f"{ADDRESS_ENV}={text!r} is not an address students can type: {fix}")
    try:
        check_public_host(parts.hostname or "")
    except InputError as exc:
        raise InputError(f"{ADDRESS_ENV}={text!r} names no valid host ({exc})") from None
    return text.rstrip("/")


def join_address() -> str | None:
    """The class page's URL, `<LECTURE_ADDRESS>/class`; None when LECTURE_ADDRESS is unset or empty.

    Raises InputError (with the fix) when it is set to something that is not an http(s) address."""
    base = os.environ.get(ADDRESS_ENV, "").strip()
    return f"{check_address(base)}/{CLASS_PATH}" if base else None


@functools.lru_cache(maxsize=32)
def qr_svg(url: str, module_px: int = MODULE_PX) -> str:
    """The QR code of `url` as inline SVG: black modules on a white field (with the 4-module quiet
    zone), whatever the theme, `module_px` CSS px per module, named for a screen reader
    (role="img", aria-label and <title>: "QR code for <url>").

    Cached per (url, module_px): the address never changes within a process.
    """
    qr = segno.make(str(url), error="m")  # segno raises the level while the version stays the same
    size = qr.symbol_size(scale=1)[0]
    name = html.escape(f"QR code for {url}", quote=True)
    svg = qr.svg_inline(scale=1, dark="#000", light="#fff", omitsize=True, title=f"QR code for {url}")
    svg = " ".join(svg.split("\n"))  # segno wraps long paths; a blank-free single line for Markdown
    px = size * int(module_px)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name}" width="{px}" height="{px}" '
                                'shape-rendering="crispEdges" ', 1)


def join_html(url: str, module_px: int = MODULE_PX) -> str:
    """The join block: the QR code beside the address in `ADDRESS_PX` letters."""
    shown = html.escape(url)
    return (
        "<div class='class-join' style='display:flex;align-items:center;gap:1.25rem;flex-wrap:wrap'>"
        f"<div style='background:#fff;padding:6px;line-height:0;border-radius:4px'>{qr_svg(url, module_px)}</div>"
        "<div style='min-width:0;flex:1 1 20rem'>"
        "<div style='font-size:24px;line-height:1.2'>Join on your phone: scan, or type</div>"
        f"<div class='class-join-address' style='font-size:{ADDRESS_PX}px;font-weight:700;line-height:1.15;"
        f"overflow-wrap:anywhere'>{shown}</div></div></div>"
    )


def show_join(where=st, module_px: int = MODULE_PX) -> None:
    """Draw the join block in `where` (st, a column, a container): the QR code and the address
    students type, or, when LECTURE_ADDRESS is unset, how the lecturer sets it."""
    try:
        url = join_address()
    except InputError as exc:
        where.error(str(exc), icon=":material/error:")
        return
    if url is None:
        where.info(f"Students join at this machine's address + /{CLASS_PATH}. To show it here with its "
                   f"QR code, start the app with {_HOW_TO}.", icon=":material/qr_code:")
        return
    where.markdown(join_html(url, module_px), unsafe_allow_html=True)  # st.html would drop the <svg>
