"""The random-data sweep: gradients, batch-norm fold, memorization rule, resume, shards, loader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import core.results.pretrained as pretrained
import training.random_data as rd
from core.errors import InputError
from core.experiments.probes import two_layer_input_gradients
from core.experiments.random_data_unit import TrainSettings
from core.experiments.random_net import (
    MemorizationRule,
    PlainTwoLayer,
    StackedTwoLayer,
    gradient_diagnostics,
    train_stack,
)
from core.results.pretrained import PretrainedError
from core.results.random_data import DIAGNOSTIC_COLUMNS, SHIPPED_GRIDS, fit_sqrt_d, load_random_data_sweep
from core.runtimes.models import TwoLayerReLU
from core.specs import get_width_rule

LAPTOP = SHIPPED_GRIDS["laptop"]


def rule_series(rows: list[dict], rule: str, memorized_only: bool = True) -> dict[str, np.ndarray]:
    """Columns of one width rule's rows as arrays sorted by d (memorized runs only by default).

    Returns: {"d", "seed", "k", "grad_max", "grad_mean", "train_mse", "steps", and the
    `DIAGNOSTIC_COLUMNS`} -> arrays.
    """
    picked = sorted((r for r in rows if r["rule"] == rule and (r["memorized"] or not memorized_only)),
                    key=lambda r: (r["d"], r["seed"]))
    return {c: np.array([r[c] for r in picked])
            for c in ("d", "seed", "k", "grad_max", "grad_mean", "train_mse", "steps", *DIAGNOSTIC_COLUMNS)}


def random_gradient_norms(nets, z, batch_size=1000):
    return torch.cat([nets.input_gradients(z[..., i : i + batch_size, :]).norm(dim=-1)
                      for i in range(0, z.shape[-2], batch_size)], dim=-1)


def tiny_config(tmp_path: Path, **kw) -> rd.SweepConfig:
    base = dict(n=48, d_grid=(4, 12), seeds=(0, 1), lr=1e-2, max_steps=1500, probe_points=64,
                device="cpu", threads=1, out=LAPTOP.path(tmp_path), work_dir=tmp_path / "work")
    base.update(kw)
    return rd.SweepConfig(**base)


@pytest.fixture(autouse=True)
def one_thread():
    """One CPU thread: tiny tensors gain nothing from more, and a shared machine makes them slower.
    Restored afterwards, since `run_sweep` sets the process-wide thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def unit_calls(monkeypatch):
    """Records every (d, rule, seeds) that `run_unit` trains."""
    calls = []
    original = rd.run_unit

    def counting(cfg, d, rule, seeds, device, progress=None):
        calls.append((d, rule, tuple(seeds)))
        return original(cfg, d, rule, seeds, device, progress)

    monkeypatch.setattr(rd, "run_unit", counting)
    return calls


def trained_stack(d=6, k=9, n=40, batchnorm=True, steps=30):
    """A stack of 2 networks after a few Adam steps, so gamma, beta, a are not at their init."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, n, d, generator=gen) / d ** 0.5
    y = torch.sign(torch.randn(2, n, generator=gen))
    model = StackedTwoLayer(d, k, [11, 12], batchnorm)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(steps):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean(1).sum().backward()
        opt.step()
    return model, x, y


# --- gradients ------------------------------------------------------------------------------


def test_gradients_of_a_hand_built_network():
    # f(x) = 2 relu(x1 - x2) - 3 relu(x2 + 1) + 0.5: at (1, 0) grad = 2 (1, -1) - 3 (0, 1) = (2, -5);
    # at (0, 1) the first unit is off: grad = -3 (0, 1).
    nets = PlainTwoLayer(w=torch.tensor([[[1.0, -1.0], [0.0, 1.0]]]), b=torch.tensor([[0.0, 1.0]]),
                         a=torch.tensor([[2.0, -3.0]]), c=torch.tensor([0.5]))
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert torch.equal(nets.input_gradients(z)[0], torch.tensor([[2.0, -5.0], [0.0, -3.0]]))
    assert torch.allclose(nets(z)[0], torch.tensor([2.0 - 3.0 + 0.5, -6.0 + 0.5]))
    assert torch.allclose(random_gradient_norms(nets, z)[0], torch.tensor([29 ** 0.5, 3.0]))
    diag = gradient_diagnostics(nets, z)
    assert diag.grad_max.item() == pytest.approx(29 ** 0.5)
    assert diag.lin_norm.item() == pytest.approx(np.linalg.norm([1.0, -4.0]))  # mean of the two


@pytest.mark.parametrize("batchnorm", [True, False])
def test_gradients_match_autograd_and_closed_form(batchnorm):
    model, x, _ = trained_stack(batchnorm=batchnorm)
    nets = model.fold(x)
    z = torch.randn(2, 50, 6, generator=torch.Generator().manual_seed(5)) / 6 ** 0.5
    ours = nets.input_gradients(z)
    for s in range(2):
        arrays = nets.numpy(s)
        reference = TwoLayerReLU(6, 9)  # core.runtimes.models' network, loaded with the folded weights
        with torch.no_grad():
            reference.hidden.weight.copy_(torch.from_numpy(arrays["w"]))
            reference.hidden.bias.copy_(torch.from_numpy(arrays["b"]))
            reference.out.weight.copy_(torch.from_numpy(arrays["a"])[None])
            reference.out.bias.copy_(torch.from_numpy(arrays["c"]).reshape(1))
        zs = z[s].clone().requires_grad_(True)
        (autograd,) = torch.autograd.grad(reference(zs).sum(), zs)
        assert torch.allclose(ours[s], autograd, atol=1e-5)
        closed = two_layer_input_gradients(arrays["w"], arrays["b"], arrays["a"], z[s].numpy())
        np.testing.assert_allclose(ours[s].numpy(), closed, atol=1e-5)
        assert torch.allclose(nets(z)[s], reference(z[s]).detach(), atol=1e-5)
    diag = gradient_diagnostics(nets, z, batch_size=7)  # batching must not change anything
    assert torch.allclose(diag.grad_max, ours.norm(dim=2).max(dim=1).values, atol=1e-6)
    assert torch.allclose(diag.grad_mean, ours.norm(dim=2).mean(dim=1), atol=1e-6)


# --- batch norm fold --------------------------------------------------------------------------


def test_batchnorm_fold_equals_batchnorm_in_eval_mode():
    model, x, _ = trained_stack(batchnorm=True)
    assert not torch.allclose(model.gamma, torch.ones_like(model.gamma))  # the fold has work to do
    nets = model.fold(x)
    z = torch.randn(2, 64, 6, generator=torch.Generator().manual_seed(9))
    for s in range(2):
        bn_net = nn.Sequential(nn.Linear(6, 9), nn.BatchNorm1d(9), nn.ReLU(), nn.Linear(9, 1))
        with torch.no_grad():
            bn_net[0].weight.copy_(model.w[s]), bn_net[0].bias.copy_(model.b[s])
            bn_net[1].weight.copy_(model.gamma[s]), bn_net[1].bias.copy_(model.beta[s])
            bn_net[3].weight.copy_(model.a[s][None]), bn_net[3].bias.copy_(model.c[s].reshape(1))
            h = bn_net[0](x[s])
            bn_net[1].running_mean.copy_(h.mean(0))
            bn_net[1].running_var.copy_(h.var(0, unbiased=False))
        bn_net.eval()
        with torch.no_grad():
            assert torch.allclose(nets(z)[s], bn_net(z[s]).squeeze(1), atol=1e-5)
            assert torch.allclose(nets(x)[s], bn_net(x[s]).squeeze(1), atol=1e-5)
    with torch.no_grad():  # on the training set, training mode and the folded network agree
        assert torch.allclose(model(x), nets(x), atol=1e-5)


def test_stack_trains_each_network_as_if_alone():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 40, 8, generator=gen) / 8 ** 0.5
    y = torch.sign(torch.randn(3, 40, generator=gen))
    settings = TrainSettings(lr=1e-2, max_steps=400, check_every=25)
    stacked = train_stack(x, y, 12, [5, 6, 7], settings)
    alone = train_stack(x[1:2], y[1:2], 12, [6], settings)
    assert stacked.steps[1] == alone.steps[0] and stacked.memorized[1] == alone.memorized[0]
    assert torch.allclose(stacked.nets.w[1], alone.nets.w[0], atol=1e-5)


# --- memorization rule ----------------------------------------------------------------------


def test_memorization_rule_on_built_outputs():
    rule = MemorizationRule(0.1)
    y = torch.tensor([[1.0, -1.0, 1.0, -1.0] * 25] * 4)
    out = torch.stack([
        0.9 * y[0],                      # right signs, MSE 0.01: memorized
        0.5 * y[1],                      # right signs, MSE 0.25 > eps: not memorized
        torch.cat([-0.01 * y[2, :1], y[2, 1:]]),  # MSE ~0.01 but one sign wrong: not memorized
        torch.zeros(100),                # sign 0 matches no label
    ])
    memorized, mse = rule.check(out, y)
    assert memorized.tolist() == [True, False, False, False]
    assert mse[1].item() == pytest.approx(0.25) and mse[2].item() < 0.1
    with pytest.raises(InputError):
        MemorizationRule(0.0)


def test_contradictory_labels_cannot_be_memorized():
    # Each point appears twice with opposite labels: no function memorizes that.
    gen = torch.Generator().manual_seed(2)
    half = torch.randn(1, 20, 5, generator=gen) / 5 ** 0.5
    labels = torch.sign(torch.randn(1, 20, generator=gen))
    x, y = torch.cat([half, half], 1), torch.cat([labels, -labels], 1)
    out = train_stack(x, y, 30, [0], TrainSettings(lr=1e-2, max_steps=60, check_every=7))
    assert out.memorized == [False] and out.steps == [60] and out.mse[0] > 0.9


# --- the sweep: end to end, resume, shards --------------------------------------------------


def test_sweep_end_to_end_writes_loadable_results(tmp_path, unit_calls):
    cfg = tiny_config(tmp_path)
    rows = rd.run_sweep(cfg, show_progress=False)
    assert len(rows) == 2 * 2 * 2 and len(unit_calls) == 4  # d x rules, each stack holds 2 seeds
    loaded, meta = load_random_data_sweep(root=tmp_path, grid="laptop")
    assert [(r["d"], r["rule"], r["seed"]) for r in loaded] == [
        (r["d"], r["rule"], r["seed"]) for r in rows]
    for r in loaded:
        rule = get_width_rule(r["rule"])
        assert r["k"] == rule(48, r["d"]) and r["p"] == rule.param_count(48, r["d"])
        assert r["grad_max"] >= r["grad_mean"] > 0
        assert r["train_mse"] <= 0.1 and r["steps"] < cfg.max_steps and r["steps"] % cfg.check_every == 0
        assert r["device"].startswith("cpu")
    assert all(r["memorized"] for r in loaded), "the tiny grid should be easy to memorize"
    assert meta["n"] == 48 and meta["d_grid"] == [4, 12] and meta["seeds"] == [0, 1]
    assert meta["batchnorm"] is True and meta["lr"] == 1e-2 and "python -m training.random_data" in meta["command"]
    stacks = {(r["d"], r["rule"]): r["wall_s"] for r in loaded}  # here one stack per (d, rule)
    assert meta["wall_time_s"] == pytest.approx(sum(stacks.values()), abs=0.1)
    series = rule_series(loaded, "f_n")
    slope, intercept, r2 = fit_sqrt_d(series["d"], series["grad_max"])
    assert meta["fits"]["f_n"]["grad_max"] == pytest.approx({"slope": slope, "intercept": intercept, "r2": r2})


def test_resume_after_a_smaller_grid_and_after_a_torn_line(tmp_path, unit_calls):
    first = rd.run_sweep(tiny_config(tmp_path, d_grid=(4,)), show_progress=False)
    assert sorted(unit_calls) == [(4, "f_n", (0, 1)), (4, "f_nd", (0, 1))]
    unit_calls.clear()
    full = rd.run_sweep(tiny_config(tmp_path), show_progress=False)
    assert sorted(unit_calls) == [(12, "f_n", (0, 1)), (12, "f_nd", (0, 1))]  # d = 4 not redone
    assert [r for r in full if r["d"] == 4] == first  # the very same rows, wall times included

    # A kill in the middle of writing the last row leaves a torn line: it is dropped and redone.
    path = tiny_config(tmp_path).progress_path()
    lines = path.read_bytes().split(b"\n")[:-1]
    last = json.loads(lines[-1])
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n" + lines[-1][: len(lines[-1]) // 2])
    unit_calls.clear()
    again = rd.run_sweep(tiny_config(tmp_path), show_progress=False)
    assert unit_calls == [(last["d"], last["rule"], (last["seed"],))]
    redone = next(r for r in again if rd.row_key(r) == rd.row_key(last))
    assert redone["steps"] == last["steps"] and redone["memorized"] == last["memorized"]
    assert redone["grad_max"] == pytest.approx(last["grad_max"], rel=1e-4)
    unit_calls.clear()
    rd.run_sweep(tiny_config(tmp_path), show_progress=False)
    assert unit_calls == []  # everything done: nothing recomputed


def test_shards_merge_to_the_unsharded_sweep(tmp_path):
    whole = rd.run_sweep(tiny_config(tmp_path / "whole", d_grid=(4, 8, 12)), show_progress=False)
    shard_files = []
    for i in (1, 2):
        cfg = tiny_config(tmp_path / "sharded", d_grid=(4, 8, 12), shard=(i, 2))
        part = rd.run_sweep(cfg, show_progress=False)
        assert {r["d"] for r in part} == set(cfg.shard_grid())
        shard_files.append(cfg.progress_path())
    assert not LAPTOP.path(tmp_path / "sharded").exists()  # shards alone write no results
    with pytest.raises(InputError, match="missing"):
        rd.write_results(shard_files[:1], tmp_path / "merged")
    with pytest.raises(InputError, match="both"):
        duplicate = tmp_path / "copy.jsonl"
        duplicate.write_bytes(shard_files[0].read_bytes())
        rd.write_results(shard_files + [duplicate], tmp_path / "merged")
    merged, meta = rd.write_results(shard_files, tmp_path / "merged")
    assert meta["shards"] == 2
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("wall_s",)} for r in rows]
    assert strip(merged) == strip(whole)


def test_cli_smoke_run_never_touches_pretrained_and_is_refused_by_the_app(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    assert rd.main(["--smoke", "--threads", "1", "--no-progress", "--work-dir", str(work)]) == 0
    assert "max gradient ~ sqrt(d)" in capsys.readouterr().out
    (out,) = [p for p in work.iterdir() if p.is_dir()]  # without --out: a folder in the work dir
    assert out.name.endswith("-smoke") and (out / "sweep.csv").is_file()
    # Into pretrained/ a smoke run is refused before it trains ...
    fake_pretrained = tmp_path / "pretrained"
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", fake_pretrained)
    assert rd.main(["--smoke", "--work-dir", str(work), "--out", str(LAPTOP.path(fake_pretrained))]) == 2
    assert "never writes into pretrained/" in capsys.readouterr().err and not fake_pretrained.exists()
    # ... and smoke results copied there by hand are refused by the app's loader.
    LAPTOP.path(fake_pretrained).parent.mkdir(parents=True)
    out.rename(LAPTOP.path(fake_pretrained))
    with pytest.raises(PretrainedError, match="--smoke.*Quick fix"):
        load_random_data_sweep(root=fake_pretrained, grid="laptop")


def test_cli_rejects_bad_input(tmp_path, capsys):
    args = ["--smoke", "--out", str(tmp_path / "o"), "--work-dir", str(tmp_path / "w")]
    assert rd.main(args + ["--shard", "3/2"]) == 2
    assert rd.main(args + ["--rules", "f_n,wide"]) == 2
    assert rd.main(args + ["--seeds", "-1"]) == 2
    assert rd.main(args + ["--n", "1e7", "--d", "100000"]) == 2  # refused before anything is allocated
    err = capsys.readouterr().err
    assert "--shard" in err and "unknown width rule" in err and "--seeds" in err and "GiB" in err
    assert "Traceback" not in err
    (tmp_path / "file").write_text("")
    for bad in (["--lr", "-1"], ["--lr", "inf"], ["--eps", "nan"], ["--out", str(tmp_path / "file" / "o")],
                ["--d", "ten"], ["--n", "1.5"]):
        with pytest.raises(SystemExit) as stop:  # argparse: usage, the option and the problem
            rd.main(["--smoke"] + bad)
        assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "'inf' is not a finite number" in err and "which is a file" in err and "Traceback" not in err


# --- loader and fit -------------------------------------------------------------------------


def test_loader_names_the_command_when_files_are_missing_or_corrupt(tmp_path):
    with pytest.raises(PretrainedError, match="python -m training.random_data"):
        load_random_data_sweep(root=tmp_path, grid="laptop")
    rd.run_sweep(tiny_config(tmp_path, d_grid=(4,), seeds=(0,), rules=("f_n",)), show_progress=False)
    rows_file = LAPTOP.path(tmp_path) / "sweep.csv"
    text = rows_file.read_text()
    rows_file.write_text(text.replace("true", "fals", 1))
    with pytest.raises(PretrainedError, match="checksum.*python -m training.random_data"):
        load_random_data_sweep(root=tmp_path, grid="laptop")
    # An edited sweep.json (a number changed, its own sha256 entry left alone) is caught too.
    meta_file = LAPTOP.path(tmp_path) / "sweep.json"
    rows_file.write_text(text)
    load_random_data_sweep(root=tmp_path, grid="laptop")
    meta_file.write_text(meta_file.read_text().replace('"n": 48', '"n": 480', 1))
    with pytest.raises(PretrainedError, match="sweep.json does not match"):
        load_random_data_sweep(root=tmp_path, grid="laptop")


@pytest.mark.parametrize("grid", list(SHIPPED_GRIDS))
def test_shipped_sweep_is_complete_and_its_fits_recompute(grid):
    rows, meta = load_random_data_sweep(grid=grid)  # verifies sweep.csv against its sha256
    assert meta["preset"] != "smoke"
    keys = {(r["d"], r["rule"], r["seed"]) for r in rows}
    assert keys == {(d, rule, s) for d in meta["d_grid"] for rule in meta["rules"] for s in meta["seeds"]}
    for rule, fit in meta["fits"].items():
        series = rule_series(rows, rule)
        assert fit["memorized_rows"] == len(series["d"])
        expected = fit_sqrt_d(series["d"], series["grad_max"])
        assert (fit["grad_max"]["slope"], fit["grad_max"]["intercept"], fit["grad_max"]["r2"]) == \
            pytest.approx(expected)
    for r in rows:
        assert r["k"] == get_width_rule(r["rule"])(meta["n"], r["d"])
        assert r["memorized"] == (r["train_mse"] <= meta["settings"]["eps"] and r["steps"] < meta["settings"]["max_steps"])
        assert r["activation"] == meta["activation"] and np.isfinite(r["ls_slope_norm"])
    if grid != "paper":  # the paper-scale networks were not kept: no split recorded
        assert all(np.isfinite(r[c]) for r in rows for c in ("lin_norm", "nonlin_max", "grad_max_init"))


def test_results_module_needs_no_torch():
    code = ("import sys, core.results.random_data; "
            "assert 'torch' not in sys.modules and 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_fit_sqrt_d():
    d = np.array([10, 40, 90, 160, 250])
    slope, intercept, r2 = fit_sqrt_d(d, 0.7 * np.sqrt(d) + 2.0)
    assert (slope, intercept, r2) == pytest.approx((0.7, 2.0, 1.0))
    noisy = 0.7 * np.sqrt(d) + 2.0 + np.array([0.3, -0.2, 0.1, -0.4, 0.2])
    assert 0.5 < fit_sqrt_d(d, noisy)[2] < 1.0
    assert fit_sqrt_d(d, np.full(5, 3.0)) == pytest.approx((0.0, 3.0, 1.0))
    with pytest.raises(InputError):
        fit_sqrt_d([10, 10], [1.0, 2.0])
    with pytest.raises(InputError):
        fit_sqrt_d([10, 20], [1.0])
    with pytest.raises(InputError):
        fit_sqrt_d([0, 20], [1.0, 2.0])


def test_the_live_mini_sweep_is_the_sweeps_unit(tmp_path):
    """The page's live run (core.experiments.random_data_live) and the shipped sweep train and probe
    with one unit: for the same settings and seeds they give the same rows."""
    from core.experiments.random_data_live import MiniSweepConfig, run_mini_sweep
    from core.experiments.random_data_unit import unit_settings

    cfg = tiny_config(tmp_path, n=60, d_grid=(8,), seeds=(0, 1))
    swept = rd.run_sweep(cfg, show_progress=False)
    live = run_mini_sweep(MiniSweepConfig(**unit_settings(cfg.settings()), d_values=cfg.d_grid,
                                          rules=cfg.rules, seeds=cfg.seeds))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("kind", "device", "wall_s")}  # noqa: E731
                          for r in rows]
    assert strip(live) == strip(swept) and len(live) == 4
