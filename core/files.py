"""Writing files safely and checking that they are the ones we wrote.

Atomic writes (temp file in the same folder, fsync, rename) so that a killed training run never
leaves half a checkpoint; a staged folder (`staged_folder`) so that a run replacing a whole results
folder leaves the old one whole until the new one is complete; sha256 digests so the app can tell
a corrupt artifact from a good one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def is_inside(path: Path | str, folder: Path | str) -> bool:
    """Whether `path` is `folder` or lies under it, symbolic links and `..` resolved (the path
    need not exist yet: `pretrained/../pretrained/mnist` is inside `pretrained`)."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file and a rename: readers see the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write obj as indented JSON, atomically."""
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --- a folder of results, replaced whole ------------------------------------------------------------

STAGING_TAG = ".staging-"
OLD_TAG = ".old-"
_RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths atomically (renameat2, Linux >= 3.15)
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2); False where unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # file system or kernel without it
        return False
    raise OSError(err, os.strerror(err), str(a))


def recover_interrupted_swap(target: Path) -> None:
    """Put a folder back if a swap was killed between its two renames; drop stale staging folders.

    After `staged_folder`'s fallback (two renames) is killed in between, `target` is missing and
    its old contents sit in a sibling `.<name>.old-*`: they are renamed back. Staging folders
    left by a killed run (`.<name>.staging-*`) hold unfinished results and are removed.
    """
    import shutil

    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{target.name}{OLD_TAG}*"), key=lambda p: p.stat().st_mtime)
    if olds and not target.exists():
        os.replace(olds.pop(), target)
    for stale in [*olds, *parent.glob(f".{target.name}{STAGING_TAG}*")]:
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def staged_folder(target: Path, keep_existing: bool = True) -> Iterator[Path]:
    """Write a results folder as a whole: readers see the old folder or the new one, never a mix.

    Yields a sibling temporary folder (`.<name>.staging-XXXX`, on the same file system), which
    starts as a copy of `target` when `keep_existing` (so a run that rewrites some files keeps the
    others). When the block ends normally the two folders are swapped in one atomic rename
    (Linux renameat2; elsewhere two renames, repaired by `recover_interrupted_swap` on the next
    run) and the old contents are deleted. If the block raises, or the process is killed, `target`
    is left exactly as it was.

        with staged_folder(Path("pretrained/mnist")) as stage:
            atomic_write_json(stage / "sweeps.json", sweeps)
            write_manifest(stage, ...)      # core.results.pretrained: the checksums, last
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(target)
    stage = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{STAGING_TAG}"))
    try:
        os.chmod(stage, 0o755)  # mkdtemp makes 0700; results are meant to be read by others
        if keep_existing and target.is_dir():
            shutil.copytree(target, stage, dirs_exist_ok=True)
        yield stage
        if target.is_dir() and _exchange(stage, target):
            shutil.rmtree(stage)  # now holds the old contents
        elif target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{OLD_TAG}"))
            os.rmdir(old)
            os.replace(target, old)
            os.replace(stage, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
