"""Start one app process as a lecture needs it: `streamlit run streamlit_app.py` behind the gate.

    python -m deploy.serve_app                                  # what `make app` runs
    python -m deploy.serve_app --public-host 192.168.1.20       # `make app PUBLIC_HOST=192.168.1.20`
    python -m deploy.serve_app --server.port 8601 ...           # any `streamlit run` option

Before Streamlit starts, this
- raises the process's soft limit of open files to its hard limit: every student's session holds
  about 4 descriptors, and a soft limit of 1024 (Linux's usual) fails near 250 sessions, 256
  (macOS's) near 60;
- puts the gate (deploy/gate.py) in front of Streamlit's server: no uploads, no metrics for
  students, no unused websocket messages, a bounded message rate per student and session rate
  per address;
- sets the lecture's environment (app/classroom/): LECTURE_ADDRESS, the URL students type, from
  `--public-host HOST` (or the environment variable PUBLIC_HOST) and Streamlit's port
  (`--server.port`, else STREAMLIT_SERVER_PORT, else 8501); LECTURE_KEY, the lecturer key, kept
  when given (deploy/serve_class.py hands every process the same one), else made and printed.
  With a public host and no --server.address, Streamlit listens on every network (0.0.0.0), not
  on .streamlit/config.toml's 127.0.0.1: giving the address students type opens the app to them.

`streamlit run streamlit_app.py` still works without it (a developer's run); the guards that need
no server hook (app/posture.py) then apply from the first page run on.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Mapping
from pathlib import Path

from app.classroom.join import ADDRESS_ENV, PUBLIC_HOST_ENV, check_public_host, join_address, public_address
from app.classroom.key import LECTURE_KEY_ENV, check_key, key_line, make_key
from core.errors import InputError

REPO = Path(__file__).resolve().parents[1]
STREAMLIT_PORT = 8501  # Streamlit's own default for --server.port
EVERY_NETWORK = "0.0.0.0"  # where Streamlit listens when a public host is given and no --server.address
# Sessions' descriptors need far fewer; a soft limit above this only costs kernel memory if used.
WANTED_OPEN_FILES = 65536


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE towards `wanted` (never above the hard limit); (old, new) soft limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft, soft
        return soft, target
    return soft, soft


def take_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of `name` in argv (`--name VALUE` or `--name=VALUE`; the last one wins) and argv
    without it. Raises InputError when `--name` ends argv with no value."""
    value, rest, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == name:
            if i + 1 >= len(argv):
                raise InputError(f"{name} needs a value, e.g. {name} 192.168.1.20")
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def streamlit_port(argv: list[str], environ: Mapping[str, str]) -> int:
    """The port Streamlit will listen on: `--server.port`, else STREAMLIT_SERVER_PORT, else 8501."""
    given, _ = take_option(argv, "--server.port")
    given = given or environ.get("STREAMLIT_SERVER_PORT")
    try:
        return int(given) if given else STREAMLIT_PORT
    except ValueError:
        raise InputError(f"--server.port {given!r} is not a port number: give one from 1 to 65535") from None


def lecture_settings(argv: list[str], environ: Mapping[str, str]) -> tuple[list[str], dict[str, str], bool]:
    """What this process's lecture needs before Streamlit starts: (the arguments for `streamlit run`,
    the environment variables to set, whether the lecturer key was made here and must be printed).

    LECTURE_ADDRESS comes from `--public-host` (consumed here), else PUBLIC_HOST, with the port
    Streamlit will use; with neither, a LECTURE_ADDRESS already set is kept. The host also goes to
    Streamlit as `--browser.serverAddress` (unless given), so it asks no outside server for this
    machine's address, and, unless `--server.address` (or STREAMLIT_SERVER_ADDRESS) says where,
    Streamlit listens on every network (0.0.0.0): a public host is for phones to reach.
    LECTURE_KEY is kept (checked) when set, else made. Raises InputError with the fix for a bad
    host, port or key.
    """
    host, rest = take_option(argv, "--public-host")
    host = host if host is not None else environ.get(PUBLIC_HOST_ENV) or None
    updates: dict[str, str] = {}
    if host is not None:
        updates[ADDRESS_ENV] = public_address(host, streamlit_port(rest, environ))
        if take_option(rest, "--browser.serverAddress")[0] is None:
            rest += ["--browser.serverAddress", check_public_host(host)]
        if take_option(rest, "--server.address")[0] is None and not environ.get("STREAMLIT_SERVER_ADDRESS"):
            rest += ["--server.address", EVERY_NETWORK]  # config.toml's 127.0.0.1 would shut the phones out
    given = environ.get(LECTURE_KEY_ENV)
    if given:
        check_key(given)
        return rest, updates, False
    updates[LECTURE_KEY_ENV] = make_key()
    return rest, updates, True


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, updates, made = lecture_settings(argv, os.environ)
        os.environ.update(updates)
        url = join_address()
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from None
    if made:
        print(key_line(os.environ[LECTURE_KEY_ENV]), flush=True)
    if url:
        print(f"Students join at {url}", flush=True)
    old, new = raise_open_files_limit()
    if new < 1024:
        print(f"warning: at most {new} open files (the hard limit): about {new // 4} students per app "
              "process. Raise it (`ulimit -Hn`, or LimitNOFILE in a systemd unit).", file=sys.stderr)
    from deploy import gate

    gate.install()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(REPO / "streamlit_app.py"), *argv]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
