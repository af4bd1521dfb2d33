"""The capacity sweep: adversarial training (core.attacks.adversarial_training), `python -m training.capacity
--smoke` end to end, resuming, and the reader of what it ships (core.results.capacity).

The full sweep is a script; these tests use a few thousand images and two epochs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.attacks.adversarial_training import (
    adversarial_step,
    catastrophic_overfitting,
    fgsm_rs,
    pgd,
    robust_accuracy,
)
from core.errors import InputError
from core.results import capacity as cr
from core.results.pretrained import PretrainedError
from core.runtimes.models import build_mlp
from core.specs import capacity_spec
from training.capacity import AdvConfig, dead_units, main, train_adversarial, weights_sha256

# --- the attacks used in training -------------------------------------------------------------


@pytest.mark.parametrize("attack", ["fgsm_rs", "pgd"])
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3])
def test_training_attacks_stay_in_the_ball_and_the_image_range(tiny_model, mnist_small, attack, eps):
    x, y = torch.from_numpy(mnist_small[2][:64]), torch.from_numpy(mnist_small[3][:64])
    gen = torch.Generator().manual_seed(0)
    x_adv = fgsm_rs(tiny_model, x, y, eps, generator=gen) if attack == "fgsm_rs" else pgd(tiny_model, x, y, eps, 5, gen)
    assert x_adv.shape == x.shape and not x_adv.requires_grad
    assert float((x_adv - x).abs().max()) <= eps + 1e-6
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    if eps == 0:
        assert torch.equal(x_adv, x)
    assert all(p.grad is None for p in tiny_model.parameters()), "an attack must not write parameter gradients"


def test_attacks_lower_accuracy_and_pgd_is_the_stronger(tiny_model, mnist_small):
    x, y = torch.from_numpy(mnist_small[2]), torch.from_numpy(mnist_small[3])
    with torch.no_grad():
        clean = float((tiny_model(x).argmax(1) == y).float().mean())
        one_step = float((tiny_model(fgsm_rs(tiny_model, x, y, 0.1, generator=torch.Generator().manual_seed(0)))
                          .argmax(1) == y).float().mean())
    strong = robust_accuracy(tiny_model, x, y, 0.1, steps=10, seed=0)
    assert strong <= one_step <= clean
    assert strong < clean - 0.2


def test_bad_budgets_are_refused(tiny_model):
    x, y = torch.zeros(2, 784), torch.zeros(2, dtype=torch.int64)
    with pytest.raises(InputError):
        fgsm_rs(tiny_model, x, y, 1.5)
    with pytest.raises(InputError):
        pgd(tiny_model, x, y, 0.1, steps=0)
    with pytest.raises(InputError):
        adversarial_step(tiny_model, torch.optim.Adam(tiny_model.parameters()), x, y, 0.1, method="free")


def test_catastrophic_overfitting_is_a_collapse_below_the_best_epoch():
    assert not catastrophic_overfitting([0.5])
    assert not catastrophic_overfitting([0.5, 0.6, 0.55])
    assert catastrophic_overfitting([0.5, 0.7, 0.3])
    assert not catastrophic_overfitting([0.5, 0.7, 0.3], drop=0.5)


def test_adversarial_training_raises_pgd_accuracy_over_standard_training(mnist_small):
    """Same net, data, seed and epochs; only the training examples differ. Can fail: if the training
    attack did nothing (x_adv = x) both runs would be the same network."""
    x, y, x_test, y_test = (torch.from_numpy(a) for a in mnist_small)
    spec = capacity_spec(64)
    results = {}
    for how in ("standard", "adversarial"):
        model = build_mlp(spec, seed=0)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        gen = torch.Generator().manual_seed(0)
        for _ in range(4):
            for idx in torch.randperm(len(x), generator=gen).split(100):
                if how == "standard":
                    loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                else:
                    adversarial_step(model, opt, x[idx], y[idx], 0.1, generator=gen)
        results[how] = robust_accuracy(model.eval(), x_test, y_test, 0.1, steps=10, seed=0)
    assert results["adversarial"] > results["standard"] + 0.2, results


# --- resuming ----------------------------------------------------------------------------------


def test_a_resumed_adversarial_run_equals_an_uninterrupted_one(mnist_small, tmp_path):
    x, y = torch.from_numpy(mnist_small[0][:1000]), torch.from_numpy(mnist_small[1][:1000])
    spec, cpu = capacity_spec(32), torch.device("cpu")
    whole = train_adversarial(spec, AdvConfig(epochs=3, check_size=100), x, y, tmp_path / "a", cpu)
    train_adversarial(spec, AdvConfig(epochs=1, check_size=100), x, y, tmp_path / "b", cpu)  # "killed"
    resumed = train_adversarial(spec, AdvConfig(epochs=3, check_size=100), x, y, tmp_path / "b", cpu)
    assert weights_sha256(resumed.model) == weights_sha256(whole.model)
    strip = lambda h: [{k: v for k, v in e.items() if k not in ("seconds", "load_average")} for e in h]  # noqa: E731
    assert strip(resumed.history) == strip(whole.history)
    with pytest.raises(InputError, match="other settings"):
        train_adversarial(spec, AdvConfig(epochs=3, check_size=100, eps=0.2), x, y, tmp_path / "b", cpu)


def test_the_eps_ramp_and_the_warm_up():
    cold = AdvConfig(eps=0.1)
    assert [cold.eps_at(s, 10) for s in (0, 5, 99)] == [0.1, 0.1, 0.1]
    ramp = AdvConfig(eps=0.1, warmup_epochs=1, ramp_epochs=2)
    eps = [ramp.eps_at(s, 10) for s in range(40)]
    assert eps[:10] == [0.0] * 10  # the clean epoch
    assert eps[10] == pytest.approx(0.005) and eps[29] == pytest.approx(0.1) and eps[30:] == [0.1] * 10
    assert all(b >= a for a, b in zip(eps, eps[1:]))
    # The cold start's resume key is the old one: its checkpoints still resume.
    assert "ramp_epochs" not in cold.resume_key() and ramp.resume_key()["ramp_epochs"] == 2


def test_a_resumed_ramp_continues_where_it_stopped(mnist_small, tmp_path):
    x, y = torch.from_numpy(mnist_small[0][:600]), torch.from_numpy(mnist_small[1][:600])
    spec, cpu = capacity_spec(16), torch.device("cpu")
    cfg = dict(check_size=50, batch_size=100, ramp_epochs=2)
    whole = train_adversarial(spec, AdvConfig(epochs=3, **cfg), x, y, tmp_path / "a", cpu)
    train_adversarial(spec, AdvConfig(epochs=1, **cfg), x, y, tmp_path / "b", cpu)  # "killed"
    resumed = train_adversarial(spec, AdvConfig(epochs=3, **cfg), x, y, tmp_path / "b", cpu)
    assert [h["train_eps"] for h in whole.history] == pytest.approx([0.05, 0.1, 0.1])
    assert [h["train_eps"] for h in resumed.history] == [h["train_eps"] for h in whole.history]
    assert weights_sha256(resumed.model) == weights_sha256(whole.model)


def test_dead_units_are_the_ones_never_active():
    model = build_mlp(capacity_spec(16), seed=0)
    x = torch.rand(50, 784)
    with torch.no_grad():
        model.fc1.weight[:3] = 0.0
        model.fc1.bias[:3] = -1.0  # never active on any image
        model.fc1.weight[3:] = 0.01
        model.fc1.bias[3:] = 0.1  # active on every image
    assert dead_units(model, x) == 3


# --- the smoke run -----------------------------------------------------------------------------


def _smoke_args(mnist_root, out: Path, *extra) -> list[str]:
    return ["--smoke", "--zero-loss", "f_n", "--data-dir", str(mnist_root), "--out", str(out),
            "--run-dir", str(out / "run"), *extra]


@pytest.fixture(scope="module")
def smoke(mnist_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("capacity_smoke")
    assert main(_smoke_args(mnist_root, out)) == 0
    return out


def test_smoke_writes_a_checked_results_folder(smoke):
    folder = cr.capacity_dir(smoke)
    names = {p.name for p in folder.iterdir()}
    assert names == {"results.json", "manifest.json", "f_n_adv.safetensors", "f_n_adv.onnx", "f_n_adv.json"}
    doc = cr.load_capacity_results(smoke)
    assert doc["provenance"]["smoke"] is True and doc["provenance"]["device"].startswith("cpu")
    assert {n["name"] for n in doc["networks"]} == {
        "standard_h16", "standard_h151", "adversarial_h16", "adversarial_h151", "zero_loss_f_n"}
    grid = cr.eps_grid(doc)
    assert grid[0] == 0.0 and grid[-1] == pytest.approx(0.1)
    for net in doc["networks"]:
        r = net["results"]
        assert net["param_count"] == capacity_spec(net["hidden"]).param_count
        assert [p["eps"] for p in r["fgsm"]] == grid == [p["eps"] for p in r["pgd"]]
        assert r["fgsm"][0]["accuracy"] == pytest.approx(r["test_accuracy"])  # eps = 0 is clean
        assert all(p["n"] == 100 for p in r["pgd"])  # the smoke PGD subset
        assert r["max_gradient_norm"] > 0 or net["kind"] == "adversarial"
        assert net["training"]["device"].startswith("cpu") and net["training"]["wall_s"] >= 0
    by = {n["name"]: n for n in doc["networks"]}
    assert "not retrained" in by["standard_h151"]["training"]["source"]
    assert by["adversarial_h16"]["training"]["epochs"] == 2
    # Where the epochs were computed: one process, both epochs, with its device and threads.
    (session,) = by["adversarial_h16"]["training"]["trained_in"]
    assert session["epochs"] == [1, 2] and session["device"].startswith("cpu") and session["threads"] >= 1
    assert by["zero_loss_f_n"]["training"]["config"]["target_loss"] == 1e-5
    # The sweep's own record: the trained networks (not the shipped f_n / f_nd), their devices and time.
    sweep = doc["sweep"]
    trained = [n for n in doc["networks"] if "trained_in" in n["training"]]
    shipped = [n for n in doc["networks"] if "not retrained" in n["training"].get("source", "")]
    assert sweep["trained_networks"] == len(trained) == len(doc["networks"]) - len(shipped) > 0
    assert sweep["training_wall_s_sum"] == pytest.approx(sum(n["training"]["wall_s"] for n in trained), abs=0.2)
    assert sweep["devices"] and all(d.startswith("cpu") for d in sweep["devices"])
    assert sweep["first_training_finished"] <= sweep["last_training_finished"]


def test_rerunning_retrains_and_reevaluates_nothing(smoke, mnist_root):
    before = cr.load_capacity_results(smoke)
    assert main(_smoke_args(mnist_root, smoke)) == 0
    after = cr.load_capacity_results(smoke)
    assert [n["results"] for n in after["networks"]] == [n["results"] for n in before["networks"]]
    assert [n["training"]["wall_s"] for n in after["networks"]] == [n["training"]["wall_s"] for n in before["networks"]]


def test_the_shipped_adversarial_weights_give_the_recorded_accuracies(smoke, mnist_root):
    check_adversarial_files(smoke, "f_n", mnist_root)


def test_a_tampered_file_is_refused(smoke, tmp_path):
    shutil.copytree(cr.capacity_dir(smoke), cr.capacity_dir(tmp_path))
    path = cr.capacity_dir(tmp_path) / "results.json"
    doc = json.loads(path.read_text())
    doc["networks"][0]["results"]["test_accuracy"] = 1.0
    path.write_text(json.dumps(doc))
    with pytest.raises(PretrainedError, match="checksum"):
        cr.load_capacity_results(tmp_path)
    (cr.capacity_dir(tmp_path) / "manifest.json").unlink()
    with pytest.raises(PretrainedError, match="training.capacity"):
        cr.load_capacity_results(tmp_path)


def test_unknown_jobs_and_bad_sizes_are_refused(mnist_root, tmp_path, capsys):
    assert main(["--smoke", "--data-dir", str(mnist_root), "--run-dir", str(tmp_path), "--jobs", "standard_h7"]) == 2
    assert "unknown" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse refuses it, before any work
        main(["--smoke", "--data-dir", str(mnist_root), "--run-dir", str(tmp_path), "--adv-epochs", "0"])
    assert stop.value.code == 2 and "--adv-epochs" in capsys.readouterr().err


# --- shared with the test of the shipped folder -------------------------------------------------


def check_adversarial_files(root: Path, base: str, mnist_root: Path) -> None:
    """The shipped weights (float16 where so recorded) give the recorded test accuracy and FGSM
    curve exactly, in torch and through the shipped ONNX graph."""
    from safetensors.torch import load_file

    from core.attacks.fgsm import fgsm_sweep
    from core.data import load_mnist
    from core.runtimes.onnx_runtime import OnnxClassifier
    from core.runtimes.torch_runtime import TorchClassifier
    from training.mnist import seeded_subset

    folder = cr.capacity_dir(root)
    meta = json.loads((folder / f"{base}_adv.json").read_text())
    doc = cr.load_capacity_results(root)
    record = next(n for n in doc["networks"] if n["name"] == f"adversarial_h{capacity_spec(meta['spec']['hidden']).hidden}")
    state = load_file(str(folder / f"{base}_adv.safetensors"))
    assert {str(v.dtype) for v in state.values()} == {f"torch.{meta['weights_dtype']}"}
    assert meta["half_precision_check"]["unchanged"] == (meta["weights_dtype"] == "float16")
    model = build_mlp(capacity_spec(meta["spec"]["hidden"]))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    x_all, y_all = load_mnist(False, mnist_root, download=False)
    idx = seeded_subset(len(x_all), doc["test_set"]["n"], doc["test_set"]["subset_seed"])
    x, y = x_all[idx], y_all[idx]
    grid = cr.eps_grid(doc)
    recorded = [p["accuracy"] for p in record["results"]["fgsm"]]
    for clf in (TorchClassifier(model.eval()), OnnxClassifier(folder / f"{base}_adv.onnx")):
        got = [r.accuracy for r in fgsm_sweep(clf, x, y, grid, batch_size=1000)]
        assert got[0] == record["results"]["test_accuracy"]
        assert np.abs(np.subtract(got, recorded)).max() <= (0 if isinstance(clf, TorchClassifier) else 2 / len(y))


def test_a_gathering_call_carries_over_the_zero_loss_runs_and_the_cold_start(mnist_root, tmp_path):
    """An earlier results.json: its zero-loss records (not rerun) and its cold-start adversarial numbers
    survive into the new one; the recipe summary is embedded as given."""
    earlier = tmp_path / "earlier"
    assert main(_smoke_args(mnist_root, earlier, "--adv-ramp", "0")) == 0
    old = cr.load_capacity_results(earlier)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"chosen": "ramp3", "rows": []}))
    old_file = tmp_path / "old_results.json"
    shutil.copy(cr.capacity_dir(earlier) / cr.RESULTS_FILE, old_file)
    out = tmp_path / "new"
    assert main(["--smoke", "--zero-loss", "--data-dir", str(mnist_root), "--out", str(out), "--run-dir",
                 str(out / "run"), "--carry-over", str(old_file), "--recipe-comparison", str(summary)]) == 0
    doc = cr.load_capacity_results(out)
    by_old = {n["name"]: n for n in old["networks"]}
    zero = [n for n in doc["networks"] if n["kind"] == "zero_loss"]
    assert [n["name"] for n in zero] == ["zero_loss_f_n"]
    assert zero[0]["results"] == by_old["zero_loss_f_n"]["results"] and "carried_over_from" in zero[0]
    cold = doc["cold_start"]["networks"]
    assert [(n["hidden"], n["results"]) for n in cold] == [
        (n["hidden"], n["results"]) for n in old["networks"] if n["kind"] == "adversarial"]
    assert doc["recipe_comparison"] == {"chosen": "ramp3", "rows": []}
    assert doc["settings"]["adversarial_training"]["ramp_epochs"] == 3
    assert all(n["results"]["autoattack"]["n"] == 50 for n in doc["networks"] if n["kind"] != "zero_loss")
