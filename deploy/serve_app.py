"""Start one app process as a lecture needs it: `streamlit run streamlit_app.py` behind the gate.

    python -m deploy.serve_app                                  # what `make app` runs
    python -m deploy.serve_app --server.port 8601 ...           # any `streamlit run` option

Before Streamlit starts, this
- raises the process's soft limit of open files to its hard limit: every student's session holds
  about 4 descriptors, and a soft limit of 1024 (Linux's usual) fails near 250 sessions, 256
  (macOS's) near 60;
- puts the gate (deploy/gate.py) in front of Streamlit's server: no uploads, no metrics for
  students, no unused websocket messages, a bounded message rate per student and session rate
  per address.

`streamlit run streamlit_app.py` still works without it (a developer's run); the guards that need
no server hook (app/posture.py) then apply from the first page run on.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
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
