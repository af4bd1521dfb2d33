"""Shared fixtures: where MNIST is, and a small MLP trained on a slice of it (a few seconds)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.specs import MLPSpec

REPO = Path(__file__).resolve().parents[1]
TINY_SPEC = MLPSpec(name="tiny", hidden=48, label="tiny test MLP", color="#000000")


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """MNIST_ROOT if set, else the shared copy beside the checkout (../shared/data), as an absolute path
    (fixtures link to its files from temporary folders)."""
    root = Path(os.environ.get("MNIST_ROOT", REPO.parent / "shared" / "data")).resolve()
    if not (root / "MNIST" / "raw").is_dir():
        pytest.fail(f"MNIST not found under {root}: set MNIST_ROOT to the folder holding MNIST/raw")
    return root


@pytest.fixture(scope="session")
def mnist_small(mnist_root):
    """3,000 training and 500 test images (float32 [N, 784] in [0, 1]) with labels."""
    from core.data import load_mnist

    x_train, y_train = load_mnist(True, mnist_root, download=False)
    x_test, y_test = load_mnist(False, mnist_root, download=False)
    return x_train[:3000], y_train[:3000], x_test[:500], y_test[:500]


@pytest.fixture(scope="session")
def tiny_model(mnist_small):
    """A 784-48-10 MLP trained for a few epochs: about 90% test accuracy, so attacks have room."""
    from core.runtimes.models import build_mlp

    x, y, _, _ = mnist_small
    model = build_mlp(TINY_SPEC, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)
    for _ in range(8):
        for idx in torch.randperm(len(xt), generator=gen).split(100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    opt.zero_grad(set_to_none=True)  # tests check that attacks never write .grad
    return model.eval()


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for every browser test (a missing browser fails, never skips)."""
    from playwright.sync_api import sync_playwright

    from tests.live_app import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


def chart_data(proto):
    """The rows of a drawn chart's top-level data, as a DataFrame.

    Streamlit ships them as Arrow beside the Vega-Lite spec: in `proto.data`, or, when the spec
    names its data (app.chart_export.chart_spec), in the dataset of that name in `proto.datasets`.
    """
    import json

    import pyarrow as pa

    if proto.data.data:
        return pa.ipc.open_stream(proto.data.data).read_all().to_pandas()
    name = json.loads(proto.spec)["data"]["name"]
    (blob,) = [d.data.data for d in proto.datasets if d.name == name]
    return pa.ipc.open_stream(blob).read_all().to_pandas()


@pytest.fixture(scope="session", autouse=True)
def class_database(tmp_path_factory):
    """The class's database (app/classroom/store.py) in a temporary folder for every test and every
    app a test starts, never the lecture's own classroom-data/; a test may point it elsewhere."""
    if os.environ.get("LECTURE_DB"):
        yield os.environ["LECTURE_DB"]
        return
    path = str(tmp_path_factory.mktemp("class") / "class.sqlite3")
    os.environ["LECTURE_DB"] = path
    try:
        yield path
    finally:
        os.environ.pop("LECTURE_DB", None)
