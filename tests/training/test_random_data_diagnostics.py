"""The diagnostics of the maximum random gradient (linear part, rest, at initialization, least-squares
slope), the even control, and merging progress files written before the diagnostics existed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import training.random_data as rd
from core.data import random_data_of_run
from core.errors import InputError
from core.experiments.linear_part import expected_ls_slope_norm
from core.experiments.probes import two_layer_input_gradients
from core.experiments.random_data_unit import TrainSettings
from core.experiments.random_net import (
    PlainTwoLayer,
    StackedTwoLayer,
    gradient_diagnostics,
    least_squares_slopes,
    train_stack,
)
from core.results.random_data import load_random_data_sweep


def least_squares_slope(x, y) -> np.ndarray:
    return least_squares_slopes(torch.from_numpy(x)[None], torch.from_numpy(y)[None])[0].numpy()


def ls_slope_norm(x, y) -> float:
    return float(np.linalg.norm(least_squares_slope(x, y)))
from core.results.sweep_reading import read_split, split_text
from tests.training.test_random_data import tiny_config


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- gradient diagnostics ---------------------------------------------------------------------


def test_a_network_with_a_known_linear_part():
    # relu(b.x) - relu(-b.x) = b.x: units 1 and 2 are the linear function beta.x exactly; unit 3,
    # 2 relu(x1 + 0.5), adds a kink. Compare with direct numpy computations of the definitions.
    beta = np.array([0.6, -0.8, 1.5])
    w = np.stack([beta, -beta, [1.0, 0.0, 0.0]])
    b, a = np.array([0.0, 0.0, 0.5]), np.array([1.0, -1.0, 2.0])
    nets = PlainTwoLayer(w=torch.tensor(w[None], dtype=torch.float64), b=torch.tensor(b[None]),
                         a=torch.tensor(a[None]), c=torch.zeros(1, dtype=torch.float64))
    z = np.random.default_rng(0).standard_normal((500, 3)) / np.sqrt(3)
    diag = gradient_diagnostics(nets, torch.tensor(z), batch_size=64)
    g = two_layer_input_gradients(w, b, a, z)
    mean = g.mean(axis=0)
    assert diag.lin_norm.item() == pytest.approx(np.linalg.norm(mean))
    assert diag.nonlin_max.item() == pytest.approx(np.linalg.norm(g - mean, axis=1).max())
    assert diag.grad_max.item() == pytest.approx(np.linalg.norm(g, axis=1).max())
    # The linear part is beta plus the kink's average slope 2 P(x1 > -0.5) e1 (about 2 * 0.81).
    p_on = np.mean(z[:, 0] > -0.5)
    assert mean == pytest.approx(beta + np.array([2 * p_on, 0, 0]))
    assert diag.grad_max.item() <= diag.lin_norm.item() + diag.nonlin_max.item() + 1e-12

    linear_only = PlainTwoLayer(w=nets.w[:, :2], b=nets.b[:, :2], a=nets.a[:, :2], c=nets.c)
    d2 = gradient_diagnostics(linear_only, torch.tensor(z))
    assert d2.lin_norm.item() == pytest.approx(np.linalg.norm(beta))
    assert d2.nonlin_max.item() == pytest.approx(0.0, abs=1e-12)


def test_grad_max_init_is_the_probe_of_the_folded_initial_network():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 40, 6, generator=gen) / 6 ** 0.5
    y = torch.sign(torch.randn(2, 40, generator=gen))
    outcome = train_stack(x, y, 9, [3, 4], TrainSettings(lr=1e-2, max_steps=300, check_every=5))
    fresh = StackedTwoLayer(6, 9, [3, 4], batchnorm=True).fold(x)  # the same seeds, never trained
    for name in ("w", "b", "a", "c"):
        assert torch.equal(getattr(outcome.init_nets, name), getattr(fresh, name))
    assert not torch.equal(outcome.nets.a, outcome.init_nets.a)  # training moved the kept nets


# --- the least-squares slope --------------------------------------------------------------------


@pytest.mark.parametrize("n, d", [(200, 20), (60, 50), (30, 80)])  # over-, barely and under-determined
def test_ls_slope_matches_numpy_lstsq(n, d):
    x, y = random_data_of_run(n, d, 0)
    design = np.column_stack([x.astype(np.float64), np.ones(n)])
    coef, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
    ours = least_squares_slope(x, y)
    if n - 1 > d:
        np.testing.assert_allclose(ours, coef[:d], atol=1e-8)
    else:  # many exact fits: ours is the minimum-norm one, and it fits exactly too
        np.testing.assert_allclose(x @ ours - (x @ ours).mean(), y - y.mean(), atol=1e-8)
        assert np.linalg.norm(ours) <= np.linalg.norm(coef[:d]) + 1e-8
    assert ls_slope_norm(x, y) == pytest.approx(np.linalg.norm(ours))


def test_ls_slope_norm_follows_d_over_sqrt_n_minus_d():
    n, d = 2000, 400
    measured = [ls_slope_norm(*random_data_of_run(n, d, s)) for s in range(8)]
    assert np.sqrt(np.mean(np.square(measured))) == pytest.approx(expected_ls_slope_norm(n, d), rel=0.05)
    assert np.isnan(expected_ls_slope_norm(100, 99))
    with pytest.raises(InputError):
        ls_slope_norm(np.zeros((5, 2)), np.zeros(4))
    # A stack solves each network's own data, as one by one.
    xs, ys = zip(*(random_data_of_run(300, 40, s) for s in range(3)))
    stacked = least_squares_slopes(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))).numpy()
    for s in range(3):
        np.testing.assert_allclose(stacked[s], least_squares_slope(xs[s], ys[s]), atol=1e-10)


# --- the even control -----------------------------------------------------------------------------


def test_the_control_network_is_even_and_has_no_linear_part():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 60, 5, generator=gen) / 5 ** 0.5
    y = torch.sign(torch.randn(2, 60, generator=gen))
    settings = TrainSettings(lr=1e-2, max_steps=200, check_every=5, batchnorm=False, activation="abs",
                             hidden_bias=False)
    nets = train_stack(x, y, 12, [1, 2], settings).nets
    z = torch.randn(2, 300, 5, generator=gen) / 5 ** 0.5
    assert torch.allclose(nets(z), nets(-z), atol=1e-6)  # f(-x) = f(x)
    assert torch.allclose(nets.input_gradients(-z), -nets.input_gradients(z), atol=1e-6)  # odd gradient
    assert torch.equal(nets.b, torch.zeros_like(nets.b))
    # Its gradient has no shared direction: over symmetric probe points z and -z the mean is 0.
    diag = gradient_diagnostics(nets, torch.cat([z, -z], dim=1))
    assert diag.lin_norm.max().item() == pytest.approx(0.0, abs=1e-5)
    relu = StackedTwoLayer(5, 12, [1], batchnorm=False).fold(x[:1])
    assert not torch.allclose(relu(z[:1]), relu(-z[:1]))  # the relu network is not even


def test_control_options_round_trip_through_the_progress_file(tmp_path):
    cfg = tiny_config(tmp_path, activation="abs", hidden_bias=False, batchnorm=False, d_grid=(4, 8),
                      max_steps=3000)
    rows = rd.run_sweep(cfg, show_progress=False)
    header = json.loads(cfg.progress_path().read_text().splitlines()[0])
    assert header["settings"]["activation"] == "abs" and header["settings"]["hidden_bias"] is False
    assert {r["activation"] for r in rows} == {"abs"}
    relu = tiny_config(tmp_path, d_grid=(4, 8))
    assert relu.progress_path() != cfg.progress_path()  # other settings, another progress file
    loaded, meta = load_random_data_sweep(root=tmp_path, grid="laptop")
    assert {r["activation"] for r in loaded} == {"abs"} and meta["activation"] == "abs"
    assert "--activation abs" in meta["command"] and "--no-hidden-bias" in meta["command"]
    # The command recorded reproduces the settings through the CLI's own parser.
    args = rd.build_parser().parse_args(meta["command"].split()[3:])
    assert rd.config_from_args(args).settings() == cfg.settings()
    for r in loaded:  # the split: recorded, consistent, and the slope is the data's
        assert r["grad_max"] <= r["lin_norm"] + r["nonlin_max"] + 1e-4
        assert r["ls_slope_norm"] == pytest.approx(ls_slope_norm(*random_data_of_run(48, r["d"], r["seed"])))


def test_split_reading_of_a_sweep_says_where_the_growth_is():
    rows = []
    for d in (10, 40, 90, 160):
        for seed in (0, 1):
            lin = 0.5 * np.sqrt(d)
            rows.append({"d": d, "rule": "f_nd", "seed": seed, "memorized": True, "lin_norm": lin,
                         "nonlin_max": 3.0, "grad_max": lin + 2.0, "grad_max_init": 2.0,
                         "ls_slope_norm": 2 * lin, "lin_ls_cos": 0.9 if seed else 0.7})
    split = read_split(rows, "f_nd")
    assert split.fits["lin_norm"][0] == pytest.approx(0.5) and split.fits["nonlin_max"][0] == pytest.approx(0.0)
    assert split.ls_fraction == pytest.approx(0.5) and split.ls_cos == pytest.approx(0.8)
    text = split_text(split)
    assert "Most of the growth is the linear part" in text and "median cosine 0.80" in text
    assert read_split([dict(r, lin_norm=float("nan")) for r in rows], "f_nd") is None


# --- version-1 progress files -------------------------------------------------------------------


def test_merging_a_version_1_file_recomputes_the_slope_from_the_data(tmp_path):
    cfg = tiny_config(tmp_path, d_grid=(4, 12))
    rd.run_sweep(cfg, show_progress=False)
    lines = [json.loads(line) for line in cfg.progress_path().read_text().splitlines()]
    header, rows = lines[0], lines[1:]
    header["version"] = 1
    for key in ("activation", "hidden_bias"):
        del header["settings"][key]
    for r in rows:  # what the GPU run at commit 1db3664 wrote
        for key in ("grad_max_init", "lin_norm", "nonlin_max", "ls_slope_norm", "activation"):
            del r[key]
    old = tmp_path / "v1.jsonl"
    old.write_text("".join(json.dumps(x) + "\n" for x in [header, *rows]))
    merged, meta = rd.write_results([old], tmp_path / "merged")
    assert meta["sources"][0]["format_version"] == 1 and meta["activation"] == "relu"
    fresh = {rd.row_key(r): r for r in json.loads("[" + ",".join(
        cfg.progress_path().read_text().splitlines()[1:]) + "]")}
    for r in merged:
        assert r["activation"] == "relu"
        assert r["ls_slope_norm"] == pytest.approx(fresh[rd.row_key(r)]["ls_slope_norm"])
        assert np.isnan(r["lin_norm"]) and np.isnan(r["grad_max_init"])
        assert r["grad_max"] == fresh[rd.row_key(r)]["grad_max"]
    assert "lin_norm" not in meta["fits"]["f_n"] and "grad_max" in meta["fits"]["f_n"]


def test_a_grid_too_large_for_the_machine_is_refused_before_training(tmp_path):
    cfg = tiny_config(tmp_path, n=10**7, d_grid=(10**5,), rules=("f_nd",), seeds=(0,))
    with pytest.raises(InputError, match="GiB"):
        rd.run_sweep(cfg, show_progress=False)
    assert not cfg.progress_path().exists()
