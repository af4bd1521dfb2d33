"""Data: MNIST scaled to [0, 1], and the random Gaussian data of the law-of-robustness experiment.

MNIST comes through `torchvision.datasets.MNIST(root, download=True)`: with the four original
files in `<root>/MNIST/raw` nothing is downloaded; on a fresh machine with internet access the
same call downloads them once. The root is, in order: an explicit argument (a script's
`--data-dir`), the `MNIST_ROOT` environment variable, `./data`. Where `MNIST/raw/SHA256SUMS`
exists (`sha256sum` format), each file is checked against it before it is read, so a truncated
or damaged file is named instead of failing deep inside torchvision.
"""

from __future__ import annotations

import os
import threading
import zlib
from pathlib import Path

import numpy as np

from core.errors import DataError, InputError
from core.files import sha256_file

DEFAULT_MNIST_ROOT = Path("data")
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SUMS_FILE = "SHA256SUMS"
_CHECKED: set[tuple] = set()  # (path, size, mtime, inode) of files that matched their sum
_CHECKED_LOCK = threading.Lock()


def read_sums(path: Path) -> dict[str, str]:
    """{file name: sha256} from a `sha256sum`-style file ("<hex>  <name>" per line)."""
    sums = {}
    for line in Path(path).read_text().splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def verify_mnist_files(raw: Path, names: tuple[str, ...]) -> None:
    """Check MNIST files against raw/SHA256SUMS where it exists; a mismatch names the file.

    Raises DataError. Without a SHA256SUMS (a fresh download) nothing is checked.
    """
    sums_path = Path(raw) / SUMS_FILE
    if not sums_path.is_file():
        return
    sums = read_sums(sums_path)
    for name in names:
        path = Path(raw) / name
        if name not in sums or not path.is_file():
            continue  # a .gz copy, or a file SHA256SUMS does not cover
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
        with _CHECKED_LOCK:
            if key in _CHECKED:
                continue
        if sha256_file(path) != sums[name]:
            raise DataError(
                f"{path} is corrupt: its sha256 does not match {sums_path}. Copy the original MNIST "
                "file there again (or delete it and run once with --download on a machine with internet)"
            )
        with _CHECKED_LOCK:
            _CHECKED.add(key)


def mnist_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The MNIST root folder: `data_dir` if given, else $MNIST_ROOT, else ./data."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir)
    env = os.environ.get("MNIST_ROOT")
    return Path(env) if env else DEFAULT_MNIST_ROOT


def load_mnist(
    train: bool, data_dir: str | os.PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images as float32 [N, 784] in [0, 1] and labels as int64 [N].

    Args:
        train: the 60,000 training images if True, else the 10,000 test images.
        data_dir: the root holding MNIST/raw (see the module docstring for the default).
        download: let torchvision download the files if they are missing.
    Raises:
        DataError: the files are missing and cannot be downloaded, or are unreadable.
    """
    root = mnist_root(data_dir)
    raw = root / "MNIST" / "raw"
    present = all((raw / f).is_file() or (raw / f"{f}.gz").is_file() for f in MNIST_FILES)
    if not present and not download:
        raise DataError(
            f"MNIST not found in {raw}: put the four original files there, or pass --data-dir / "
            "set MNIST_ROOT to the folder that holds MNIST/raw (here: ../shared/data)"
        )
    split = MNIST_FILES[:2] if train else MNIST_FILES[2:]
    verify_mnist_files(raw, split)
    try:
        from torchvision.datasets import MNIST

        ds = MNIST(root=str(root), train=train, download=download)
    except Exception as exc:  # URLError offline, RuntimeError for corrupt files, ...
        raise DataError(
            f"could not load MNIST from {raw} ({type(exc).__name__}: {str(exc)[:200]}). Pass "
            "--data-dir or set MNIST_ROOT to the folder that holds MNIST/raw (here: ../shared/data), "
            "or connect to the internet once so torchvision can download it"
        ) from None
    x = ds.data.numpy().reshape(len(ds.data), -1).astype(np.float32) / np.float32(255.0)
    y = ds.targets.numpy().astype(np.int64)
    return x, y


def random_gaussian_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The law-of-robustness data: x_i ~ N(0, I_d / d), labels y_i uniform in {+1, -1}.

    Returns: x float32 [n, d] and y float32 [n] with values +-1. The same seed gives the same data.
    """
    if not (isinstance(n, (int, np.integer)) and isinstance(d, (int, np.integer))) or n < 1 or d < 1:
        raise InputError(f"n and d must be positive integers, got n={n!r}, d={d!r}")
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, d)) / np.sqrt(d)).astype(np.float32)
    y = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n)
    return x, y


def derived_seed(*parts: int | str) -> int:
    """A 31-bit seed from (seed, d, rule, purpose): independent, reproducible random streams.

    The random-data experiment draws its data with derived_seed(seed, d, "data"), each network's
    initialization with derived_seed(seed, d, rule, "init") and the probe points with
    derived_seed(seed, d, "probe"), so any run's data can be drawn again from its row alone.
    """
    words = [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0] >> 1)


def random_data_of_run(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training data of the random-data run (n, d, seed): `random_gaussian_data` with its
    derived seed, exactly as `training.random_data` and the live mini-experiment draw it."""
    return random_gaussian_data(n, d, derived_seed(seed, d, "data"))
