"""core.files.staged_folder: a results folder is replaced whole, or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core import files
from core.files import recover_interrupted_swap, staged_folder

REPO = Path(__file__).resolve().parents[2]


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture()
def results(tmp_path) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "a.json").write_text("old a")
    (folder / "b.bin").write_bytes(b"old b")
    return folder


def test_a_finished_block_swaps_the_new_folder_in(results):
    with staged_folder(results) as stage:
        assert stage.parent == results.parent and stage != results
        assert _contents(stage) == {"a.json": b"old a", "b.bin": b"old b"}  # starts as a copy
        (stage / "a.json").write_text("new a")
        (stage / "c.txt").write_text("new c")
        assert (results / "a.json").read_text() == "old a"  # readers still see the old folder
    assert _contents(results) == {"a.json": b"new a", "b.bin": b"old b", "c.txt": b"new c"}
    assert sorted(p.name for p in results.parent.iterdir()) == ["mnist"]  # no staging, no old copy
    assert oct(results.stat().st_mode & 0o777) == "0o755"


def test_keep_existing_false_starts_empty(results):
    with staged_folder(results, keep_existing=False) as stage:
        assert not any(stage.iterdir())
        (stage / "only.txt").write_text("x")
    assert _contents(results) == {"only.txt": b"x"}


def test_a_new_folder_is_created(tmp_path):
    with staged_folder(tmp_path / "deep" / "recap") as stage:
        (stage / "x.json").write_text("{}")
    assert _contents(tmp_path / "deep" / "recap") == {"x.json": b"{}"}


def test_an_error_in_the_block_leaves_the_old_folder_whole(results):
    before = _contents(results)
    with pytest.raises(RuntimeError, match="boom"):
        with staged_folder(results) as stage:
            (stage / "a.json").write_text("half-written")
            raise RuntimeError("boom")
    assert _contents(results) == before
    assert sorted(p.name for p in results.parent.iterdir()) == ["mnist"]


def test_a_killed_run_leaves_the_old_folder_whole_and_the_next_run_cleans_up(results):
    """SIGKILL in the middle of writing: no Python cleanup runs at all."""
    before = _contents(results)
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from core.files import staged_folder
        with staged_folder(Path({str(results)!r})) as stage:
            (stage / "a.json").write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60)
    assert proc.returncode == -9
    assert _contents(results) == before
    assert any(".staging-" in p.name for p in results.parent.iterdir())  # the killed run's leftovers
    with staged_folder(results) as stage:
        (stage / "b.bin").write_bytes(b"new b")
    assert _contents(results) == {"a.json": b"old a", "b.bin": b"new b"}
    assert sorted(p.name for p in results.parent.iterdir()) == ["mnist"]


def test_without_an_atomic_exchange_the_fallback_swaps_too(results, monkeypatch):
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    with staged_folder(results) as stage:
        (stage / "a.json").write_text("new a")
    assert _contents(results) == {"a.json": b"new a", "b.bin": b"old b"}
    assert sorted(p.name for p in results.parent.iterdir()) == ["mnist"]


def test_a_fallback_swap_killed_between_its_renames_is_repaired(results):
    """The fallback's worst moment: the old folder renamed away, the new one not yet in place."""
    before = _contents(results)
    old = results.parent / ".mnist.old-abc123"
    os.replace(results, old)
    (results.parent / ".mnist.staging-def456").mkdir()
    recover_interrupted_swap(results)
    assert _contents(results) == before
    assert sorted(p.name for p in results.parent.iterdir()) == ["mnist"]


def test_the_exchange_is_atomic_on_this_machine(tmp_path):
    """renameat2(RENAME_EXCHANGE) works here (Linux, local file system): no window without a folder."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    assert files._exchange(a, b) is True
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"
