"""Robustness against size: a width sweep of MNIST MLPs, trained normally and adversarially.

Madry et al. (2018, arXiv:1706.06083, Fig. 4) found on MNIST that adversarial training needs
capacity to succeed, and that capacity alone does not give robustness. This script measures both
halves on one-hidden-layer ReLU MLPs 784 -> h -> 10, h in {16, 32, 64, 151, 300, 600, 1200, 3774}
(151 and 3774 are the talk's f_n and f_nd), each trained two ways on the 60,000 training images:

* standard: Adam and cross-entropy under the shipped stopping rule of `training.mnist` (100%
  training accuracy and mean training loss <= 1e-3, or an epoch cap; a width that cannot memorize
  stops at the cap and its record says `rule_met: false`). f_n and f_nd are not retrained: the
  shipped `pretrained/mnist` weights are evaluated, with their training record.
* adversarial: FGSM with a random start (Wong, Rice and Kolter 2020) at eps = 0.1 (or PGD,
  `--adv-method pgd`) for a fixed number of epochs; after every epoch a 10-step PGD check on a
  seeded subset of training images detects catastrophic overfitting, which stops the run and
  restores the epoch with the best PGD accuracy.

Beyond the sweep, "training until the loss is zero" (the talk's wording): f_n (and f_nd, when
asked: `--zero-loss f_n f_nd`) retrained from the shipped seed and schedule past the rule, to a
mean training loss <= 1e-5 or an epoch cap.

Every network is a job (`standard_h16`, `adversarial_h3774`, `zero_loss_f_n`, ...) with its own
folder under `--run-dir`: an atomic checkpoint after every epoch (a killed run resumes), and its
evaluation cached as `evaluation.json` (keyed on the weights' sha256 and the evaluation settings).
Jobs can therefore be split over processes (`--jobs`) and gathered by a last call with `--out`,
which retrains and re-evaluates nothing already done.

Evaluation of every network on the 10,000 test images: clean accuracy and loss, FGSM on the talk's
grid (20 values in [0, 0.1]), PGD-Linf (10 steps, random start) on the same grid on a seeded subset
of the test images, the largest input-gradient norm ||grad_x p_c(x)||_2 over the test set, and the
training accuracy and loss (a full eval-mode pass over the training images).

Writes, only when `--out` is given, `<out>/capacity/` (see `core.results.capacity` for the reader):

    results.json                      every network's record, grids, settings, provenance
    f_n_adv.*, f_nd_adv.*             the adversarially trained f_n and f_nd: safetensors (float16
                                      where the measured accuracies do not change), ONNX, metadata
    manifest.json                     sha256 of every file above, written last

Usage:
    python -m training.capacity --data-dir ../shared/data --out pretrained    # the full sweep
    python -m training.capacity --smoke --out /tmp/smoke                       # tiny, < 1 min
    python -m training.capacity --help
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.attacks.adversarial_training import adversarial_step, catastrophic_overfitting, robust_accuracy
from core.data import load_mnist, mnist_root
from core.errors import InputError
from core.files import atomic_write_bytes, atomic_write_json, staged_folder
from core.results.capacity import adversarial_name
from core.results.pretrained import (
    PRETRAINED_DIR,
    mnist_dir,
    model_metadata,
    verified_model_files,
    write_manifest,
)
from core.runtimes.models import MLP, build_mlp, load_mlp
from core.specs import CAPACITY_WIDTHS, MNIST_MODELS, MLPSpec, capacity_spec
from training import cli
from training.loop import EpochReport, Schedule, checkpoint_epoch, full_pass, train_epochs
from training.mnist import FGSM_EPS, TrainConfig, seeded_subset, train_model
from training.runinfo import device_description, provenance_record, resolve_device, utc_now

COMMAND = "python -m training.capacity"
FORMAT_VERSION = 1
CAPACITY_SUBDIR = "capacity"
RESULTS_FILE = "results.json"
EVALUATION_FILE = "evaluation.json"
EVAL_MEASURES = 2  # bumped when evaluate_network measures more (2: dead units): older caches are redone
BATCH_SIZE = 128
WIDTHS = CAPACITY_WIDTHS
N_TRAIN, N_TEST = 60_000, 10_000

# Log-midpoint of f_n's and f_nd's widths: narrower nets take f_n's schedule, wider ones f_nd's.
_SCHEDULE_SPLIT = float(np.sqrt(151 * 3774))
# The shipped models' own schedules and caps (training.mnist DEFAULT_LR_DECAY, DEFAULT_MAX_EPOCHS).
STANDARD_SCHEDULES = {
    "f_n": {"lr_decay": 0.97, "max_epochs": 100},
    "f_nd": {"lr_decay": 0.88, "max_epochs": 30},
}


def width_spec(hidden: int) -> MLPSpec:
    """The spec of the width-h network (f_n / f_nd for their widths)."""
    return capacity_spec(hidden)


def schedule_of(hidden: int) -> str:
    """Which shipped model's schedule (lr decay, cap) the standard run of width h follows."""
    return "f_n" if hidden <= _SCHEDULE_SPLIT else "f_nd"


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvConfig:
    """Adversarial training of one network. Everything but `epochs` must match to resume.

    Attributes:
        seed: initialisation, shuffling and random starts. lr, lr_decay: Adam, lr * decay**epoch.
        epochs: fixed number of epochs. eps: the L-inf budget in pixel units of [0, 1].
        method: "fgsm_rs" (Wong et al. 2020, step 1.25 eps) or "pgd" (pgd_steps steps).
        check_size, check_steps: the per-epoch PGD check on a seeded subset of training images.
        check_drop: a fall of the check's accuracy by more than this below its best earlier value
            is catastrophic overfitting: training stops and the best epoch's weights are kept.
        warmup_epochs: clean (eps = 0) epochs before any attack.
        ramp_epochs: after the warm-up, the training eps rises linearly, batch by batch, from
            eps / (steps in the ramp) to `eps` over this many epochs (0: the full eps from the first
            adversarial step, the cold start that kills the small networks' hidden units).
    """

    seed: int = 0
    lr: float = 1e-3
    lr_decay: float = 0.8
    batch_size: int = BATCH_SIZE
    train_size: int | None = None
    epochs: int = 10
    eps: float = 0.1
    method: str = "fgsm_rs"
    pgd_steps: int = 10
    check_size: int = 1000
    check_steps: int = 10
    check_drop: float = 0.2
    warmup_epochs: int = 0
    ramp_epochs: int = 0

    def resume_key(self) -> dict:
        key = asdict(self)
        key.pop("epochs")
        for name in ("warmup_epochs", "ramp_epochs"):  # absent from the cold-start recipe's checkpoints
            if not key[name]:
                key.pop(name)
        return key

    def eps_at(self, step: int, steps_per_epoch: int) -> float:
        """The training eps of optimizer step `step` (0-based, counted over the whole run)."""
        adversarial = step - self.warmup_epochs * steps_per_epoch
        if adversarial < 0:
            return 0.0
        ramp = self.ramp_epochs * steps_per_epoch
        return self.eps if adversarial >= ramp else self.eps * (adversarial + 1) / ramp


@dataclass(frozen=True)
class EvalConfig:
    """What is measured on the test set (budgets in pixel units of [0, 1]).

    test_size: a seeded subset of the test images (None: all 10,000). pgd_subset: PGD runs on a
    seeded subset of that many of them. batch_size: images per pass. autoattack_*: AutoAttack's
    two gradient attacks (`training.autoattack`) on a seeded subset of that many test images, at
    that budget, beside the project's PGD on the same images.
    """

    eps: tuple[float, ...] = FGSM_EPS
    pgd_steps: int = 10
    pgd_subset: int | None = 2000
    seed: int = 0
    test_size: int | None = None
    batch_size: int = 1000
    autoattack_size: int = 1000  # AutoAttack's APGD-CE + APGD-T on a seeded subset (0: none)
    autoattack_eps: float = 0.1
    autoattack_iterations: int = 100


@dataclass(frozen=True)
class Job:
    """One network of the sweep: `kind` is standard, adversarial or zero_loss."""

    kind: str
    hidden: int
    seed: int = 0  # adversarial jobs only: the seed of initialisation, shuffling and random starts

    @property
    def name(self) -> str:
        if self.kind == "zero_loss":
            return f"zero_loss_{capacity_spec(self.hidden).name}"
        return f"{self.kind}_h{self.hidden}" + (f"_seed{self.seed}" if self.seed else "")

    @property
    def spec(self) -> MLPSpec:
        return capacity_spec(self.hidden)

    @property
    def shipped(self) -> bool:
        """Standard f_n / f_nd: the shipped pretrained/mnist models, not retrained."""
        return self.kind == "standard" and self.spec.name in MNIST_MODELS


@dataclass(frozen=True)
class RunConfig:
    """One invocation: the jobs, the configs, and where data, checkpoints and outputs are."""

    jobs: tuple[Job, ...]
    adversarial: AdvConfig
    evaluation: EvalConfig
    data_dir: Path
    run_dir: Path
    out: Path | None
    shipped_root: Path
    standard_caps: dict[str, int] = field(
        default_factory=lambda: {k: v["max_epochs"] for k, v in STANDARD_SCHEDULES.items()})
    zero_loss_target: float = 1e-5
    zero_loss_caps: dict[str, int] = field(default_factory=lambda: {"f_n": 150, "f_nd": 40})
    train_size: int | None = None
    device: str = "auto"
    threads: int = 2
    resume: bool = True
    smoke: bool = False
    carry_over: Path | None = None
    recipe_comparison: Path | None = None


def standard_config(hidden: int, cfg: RunConfig) -> TrainConfig:
    """The standard run of width h: the shipped rule with its nearest shipped model's schedule."""
    sched = schedule_of(hidden)
    return TrainConfig(seed=0, lr=1e-3, lr_decay=STANDARD_SCHEDULES[sched]["lr_decay"],
                       batch_size=BATCH_SIZE, train_size=cfg.train_size,
                       max_epochs=cfg.standard_caps[sched], target_loss=1e-3, target_accuracy=1.0)


def zero_loss_config(name: str, cfg: RunConfig, shipped: dict) -> TrainConfig:
    """The shipped model's own training config, with the loss target lowered and the cap raised."""
    base = TrainConfig(**shipped["training"]["config"])
    return replace(base, train_size=cfg.train_size, target_loss=cfg.zero_loss_target,
                   max_epochs=cfg.zero_loss_caps[name])


# --- adversarial training -------------------------------------------------------------------


@dataclass
class AdvResult:
    """An adversarially trained model and its history (one dict per epoch)."""

    model: MLP
    config: AdvConfig
    epochs: int
    history: list[dict]
    wall_s: float
    overfit_epoch: int | None
    kept_epoch: int


def train_adversarial(spec: MLPSpec, cfg: AdvConfig, x: torch.Tensor, y: torch.Tensor, run_dir: Path,
                      device: torch.device, resume: bool = True) -> AdvResult:
    """Adversarial training of `spec` on (x, y) for `cfg.epochs` epochs, checkpointing each epoch.

    Args:
        x: float32 [N, 784] in [0, 1] on `device`; y: int64 [N] on `device`.
        run_dir: folder of this network's checkpoint (created).
    Each epoch (on the shared loop, `training.loop`): Adam steps on adversarial examples of each
    batch (`adversarial_step`, random starts from their own seeded generator), then a clean full
    pass over the training set and the PGD check on `cfg.check_size` seeded training images.
    """
    check_idx = torch.from_numpy(seeded_subset(len(x), cfg.check_size, cfg.seed)).to(device)
    x_check, y_check = x[check_idx], y[check_idx]
    starts = torch.Generator().manual_seed(cfg.seed + 1)
    steps_per_epoch = math.ceil(len(x) / cfg.batch_size)
    # Steps already taken: a resumed run continues the ramp where its checkpoint left it.
    taken = {"steps": checkpoint_epoch(run_dir) * steps_per_epoch if resume else 0, "eps": 0.0}

    def step(model: MLP, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor) -> float:
        taken["eps"] = cfg.eps_at(taken["steps"], steps_per_epoch)
        taken["steps"] += 1
        return adversarial_step(model, opt, xb, yb, taken["eps"], cfg.method, cfg.pgd_steps, starts)

    def measure(record: dict, history: list[dict], state: dict) -> EpochReport:
        train_loss, train_acc = full_pass(model, x, y)
        check = robust_accuracy(model, x_check, y_check, cfg.eps, cfg.check_steps, seed=cfg.seed)
        record.update(train_eps=taken["eps"], train_loss=train_loss, train_accuracy=train_acc,
                      check_pgd_accuracy=check, load_average=round(os.getloadavg()[0], 2))
        checks = [h["check_pgd_accuracy"] for h in history] + [check]
        if catastrophic_overfitting(checks, cfg.check_drop):
            state["overfit_epoch"] = record["epoch"]
        if state["best_model"] is None or check >= max(checks[:-1], default=-1.0):
            state["best_model"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            state["best_epoch"] = record["epoch"]
        adv_loss = record["adversarial_loss"]
        return EpochReport(f"adversarial loss {adv_loss:.4f}, clean train acc {train_acc:.4f}, "
                           f"PGD check {check:.4f}",
                           {"adv_loss": f"{adv_loss:.3f}", "pgd": f"{check:.3f}"})

    model = build_mlp(spec, seed=cfg.seed).to(device)
    schedule = Schedule(seed=cfg.seed, lr=cfg.lr, lr_decay=cfg.lr_decay, batch_size=cfg.batch_size,
                        max_epochs=cfg.epochs)
    run = train_epochs(model, x, y, run_dir, schedule, label=f"{spec.name} adversarial", model_name=spec.name,
                       resume_key=cfg.resume_key(), after_epoch=measure,
                       stopped=lambda state: state["overfit_epoch"] is not None,
                       state={"overfit_epoch": None, "best_model": None, "best_epoch": 0},
                       generators={"start_rng": starts}, step=step, loss_key="adversarial_loss",
                       stop_note="catastrophic overfitting, stopping", resume=resume)
    overfit, best_state = run.state["overfit_epoch"], run.state["best_model"]
    if overfit is not None and best_state is not None:
        model.load_state_dict(best_state)  # Wong et al.'s early stopping: the last robust epoch
    model.eval()
    return AdvResult(model, cfg, run.epochs, run.history, run.wall_s, overfit,
                     run.state["best_epoch"] if overfit else run.epochs)


# --- evaluation -----------------------------------------------------------------------------


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 of the model's parameters (float32, C order, in state_dict order)."""
    digest = hashlib.sha256()
    for k, v in model.state_dict().items():
        digest.update(k.encode())
        digest.update(v.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def evaluate_network(model: MLP, name: str, x_train: torch.Tensor, y_train: torch.Tensor,
                     x_test: np.ndarray, y_test: np.ndarray, cfg: EvalConfig, device: torch.device) -> dict:
    """Every measurement of one network, as a JSON-ready dict (torch backend)."""
    from core.attacks.fgsm import fgsm_sweep
    from core.attacks.pgd import pgd_sweep
    from core.experiments.probes import probability_gradient_norms
    from core.runtimes.torch_runtime import TorchClassifier

    t0 = time.perf_counter()
    clf = TorchClassifier(model, name=name, device=device)
    train_loss, train_acc = full_pass(model, x_train, y_train)
    test_loss, test_acc = full_pass(model, torch.from_numpy(x_test).to(device),
                                    torch.from_numpy(y_test).to(device))
    fgsm = fgsm_sweep(clf, x_test, y_test, cfg.eps, batch_size=cfg.batch_size)
    idx = seeded_subset(len(x_test), cfg.pgd_subset, cfg.seed)
    pgd = pgd_sweep(clf, x_test[idx], y_test[idx], cfg.eps, steps=cfg.pgd_steps, seed=cfg.seed,
                    batch_size=cfg.batch_size)
    grads = probability_gradient_norms(clf, x_test, batch_size=cfg.batch_size)
    dead = dead_units(model, torch.from_numpy(x_test).to(device))
    autoattack = None
    if cfg.autoattack_size:
        from training.autoattack import autoattack_accuracy

        aidx = seeded_subset(len(x_test), cfg.autoattack_size, cfg.seed)
        autoattack = autoattack_accuracy(model, x_test[aidx], y_test[aidx], cfg.autoattack_eps,
                                         iterations=cfg.autoattack_iterations, seed=cfg.seed, device=device)
        same = pgd_sweep(clf, x_test[aidx], y_test[aidx], [cfg.autoattack_eps], steps=cfg.pgd_steps,
                         seed=cfg.seed, batch_size=cfg.batch_size)
        autoattack["pgd_accuracy"] = same[0].accuracy  # the project's PGD on the same images
    return {
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "fgsm": [r.to_dict() for r in fgsm],
        "pgd": [r.to_dict() for r in pgd],
        "max_gradient_norm": grads.max,
        "mean_gradient_norm": grads.mean,
        "dead_units": dead,
        "dead_fraction": dead / model.spec.hidden,
        "autoattack": autoattack,
        "seconds": round(time.perf_counter() - t0, 1),
    }


@torch.no_grad()
def dead_units(model: MLP, x: torch.Tensor, batch_size: int = 2000) -> int:
    """Hidden ReLUs that are never active (pre-activation <= 0) on any image of x."""
    alive = torch.zeros(model.spec.hidden, dtype=torch.bool, device=x.device)
    for start in range(0, len(x), batch_size):
        alive |= (model.fc1(x[start : start + batch_size].flatten(1)) > 0).any(0)
    return int((~alive).sum())


def _eval_key(model: MLP, cfg: EvalConfig, n_test: int) -> dict:
    return {"weights_sha256": weights_sha256(model), "eval": json.loads(json.dumps(asdict(cfg))),
            "n_test": n_test, "measures": EVAL_MEASURES}


def evaluate_cached(model: MLP, name: str, run_dir: Path, data: "Data", cfg: EvalConfig,
                    device: torch.device) -> dict:
    """`evaluate_network`, cached in `<run_dir>/evaluation.json` under the weights' sha256 and the
    settings, so a gathering call (or a resumed one) re-evaluates nothing."""
    path = Path(run_dir) / EVALUATION_FILE
    key = _eval_key(model, cfg, len(data.y_test))
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
        except (OSError, ValueError):
            cached = {}
        if cached.get("key") == key:
            return cached["results"]
    results = evaluate_network(model, name, data.x_train, data.y_train, data.x_test, data.y_test, cfg, device)
    atomic_write_json(path, {"key": key, "results": results})
    tqdm.write(f"[{name}] test accuracy {results['test_accuracy']:.4f}, PGD@0.1 "
               f"{results['pgd'][-1]['accuracy']:.4f}, evaluated in {results['seconds']:.0f} s")
    return results


# --- the pipeline ---------------------------------------------------------------------------


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: np.ndarray
    y_test: np.ndarray
    test_idx: np.ndarray


SESSIONS_FILE = "trained_in.json"


def record_session(folder: Path, before: int, after: int, device: torch.device) -> list[dict]:
    """The processes that trained a job: device, threads, epochs and load, one entry per process
    that added epochs to its checkpoint (kept in `<folder>/trained_in.json`), so a job resumed or
    gathered by another process still records where its epochs were computed."""
    path = Path(folder) / SESSIONS_FILE
    sessions = json.loads(path.read_text()) if path.is_file() else []
    if after > before:
        sessions.append({"device": device_description(device), "threads": torch.get_num_threads(),
                         "epochs": [before + 1, after], "load_average_at_end": round(os.getloadavg()[0], 2),
                         "finished": utc_now()})
        atomic_write_json(path, sessions)
    return sessions


def run_job(job: Job, cfg: RunConfig, data: Data, device: torch.device) -> dict:
    """Train (or load) one network, evaluate it, and return its JSON record plus the model."""
    spec, folder = job.spec, cfg.run_dir / job.name
    t0 = time.perf_counter()
    before = checkpoint_epoch(folder)
    if job.shipped:
        _, meta = verified_model_files(spec.name, cfg.shipped_root)
        model = load_mlp(spec, mnist_dir(cfg.shipped_root) / spec.weights_file).to(device)
        t = meta["training"]
        training = {"how": "standard", "source": f"shipped pretrained/mnist/{spec.weights_file} "
                    "(training.mnist), not retrained", "config": t["config"],
                    "stopping_rule": t["stopping_rule"], "rule_met": t["rule_met"], "epochs": t["epochs"],
                    "wall_s": t["wall_s"], "device": meta.get("device"), "history": t["history"],
                    "weights_sha256": meta["sha256"][spec.weights_file]}
    elif job.kind == "adversarial":
        res = train_adversarial(spec, replace(cfg.adversarial, seed=job.seed), data.x_train, data.y_train,
                                folder, device, cfg.resume)
        model = res.model
        c = res.config
        training = {"how": "adversarial",
                    "method": {"fgsm_rs": "FGSM with a uniform random start, step 1.25 eps (Wong, Rice "
                                          "and Kolter 2020)",
                               "pgd": f"PGD-Linf, {c.pgd_steps} steps of 2.5 eps / steps, random start "
                                      "(Madry et al. 2018)"}[c.method],
                    "config": asdict(c), "epochs": res.epochs,
                    "catastrophic_overfitting_epoch": res.overfit_epoch, "kept_epoch": res.kept_epoch,
                    "check": f"after each epoch, PGD-Linf ({c.check_steps} steps, random start) at eps "
                             f"{c.eps:g} on {c.check_size} seeded training images; a fall of more than "
                             f"{c.check_drop:g} below the best earlier value counts as catastrophic "
                             "overfitting and keeps the best epoch's weights",
                    "wall_s": round(res.wall_s, 1), "history": res.history}
    else:
        if job.kind == "zero_loss":
            tcfg = zero_loss_config(spec.name, cfg, model_metadata(spec.name, cfg.shipped_root))
        else:
            tcfg = standard_config(job.hidden, cfg)
        n = tcfg.train_size or len(data.y_train)
        res = train_model(spec, tcfg, data.x_train[:n], data.y_train[:n], folder, device, cfg.resume)
        model = res.model
        training = {"how": job.kind, "config": asdict(tcfg), "stopping_rule": tcfg.stopping_rule,
                    "rule_met": res.rule_met, "epochs": res.epochs, "wall_s": round(res.wall_s, 1),
                    "history": res.history}
        if job.kind == "standard":
            training["schedule_of"] = schedule_of(job.hidden)
    if not job.shipped:
        sessions = record_session(folder, before, training["epochs"], device)
        training["trained_in"] = sessions
        training["device"] = "; ".join(dict.fromkeys(f"{s['device']}" for s in sessions)) or "unknown"
    results = evaluate_cached(model, job.name, folder, data, cfg.evaluation, device)
    tqdm.write(f"[{job.name}] done in {time.perf_counter() - t0:.0f} s (load average {os.getloadavg()[0]:.2f})")
    record = {"name": job.name, "kind": job.kind, "hidden": job.hidden, "seed": job.seed,
              "param_count": spec.param_count,
              "model": spec.name, "training": training, "results": results}
    return {"record": record, "model": model}


def write_results_folder(out: Path, files: dict[str, bytes]) -> dict[str, str]:
    """Write a results folder as a whole (`core.files.staged_folder`: readers see the old folder or
    the new one, never a mix), its manifest.json of checksums last. Returns the checksums."""
    with staged_folder(Path(out), keep_existing=False) as stage:
        for name, data in files.items():
            atomic_write_bytes(stage / name, data)
        return write_manifest(stage, "training.capacity")


def half_precision_check(model: MLP, data: Data, cfg: EvalConfig, device: torch.device) -> tuple[MLP, dict]:
    """The model with weights rounded to float16, and whether its measured accuracies are unchanged.

    Compared: clean test accuracy and the FGSM accuracies on the full grid (the whole test set),
    and PGD at the largest eps on the PGD subset; both models attacked with the same seeds.
    """
    from core.attacks.fgsm import fgsm_sweep
    from core.attacks.pgd import pgd_sweep
    from core.runtimes.torch_runtime import TorchClassifier

    half = build_mlp(model.spec).to(device)
    half.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    half.eval()
    idx = seeded_subset(len(data.y_test), cfg.pgd_subset, cfg.seed)
    numbers = {}
    for label, m in (("float32", model), ("float16", half)):
        clf = TorchClassifier(m, name=label, device=device)
        fgsm = fgsm_sweep(clf, data.x_test, data.y_test, cfg.eps, batch_size=cfg.batch_size)
        pgd = pgd_sweep(clf, data.x_test[idx], data.y_test[idx], [cfg.eps[-1]], steps=cfg.pgd_steps,
                        seed=cfg.seed, batch_size=cfg.batch_size)
        numbers[label] = {"fgsm_accuracy": [r.accuracy for r in fgsm], "pgd_accuracy_max_eps": pgd[0].accuracy}
    return half, {"unchanged": numbers["float32"] == numbers["float16"], **numbers}


def adversarial_model_files(job_out: dict, data: Data, cfg: RunConfig, device: torch.device,
                            provenance: dict) -> dict[str, bytes]:
    """safetensors, ONNX and metadata of an adversarially trained f_n / f_nd, for the app.

    Float16 weights when the measured accuracies do not change (`half_precision_check`), else float32.
    """
    from safetensors.torch import save

    from core.runtimes.models import mlp_weights
    from core.runtimes.onnx_export import export_mlp_onnx

    record, model = job_out["record"], job_out["model"]
    base = model.spec
    name = adversarial_name(base.name)  # f_n_adv, f_nd_adv: core.specs.ADVERSARIAL_MODELS
    half, check = half_precision_check(model, data, cfg.evaluation, device)
    dtype = torch.float16 if check["unchanged"] else torch.float32
    tensors = {k: v.detach().cpu().to(dtype).contiguous() for k, v in model.state_dict().items()}
    weights = save(tensors, metadata={"model": name})
    with tempfile.TemporaryDirectory() as tmp:
        # The graph references the weights in place inside the safetensors file: shipped once.
        wpath, opath = Path(tmp) / f"{name}.safetensors", Path(tmp) / f"{name}.onnx"
        wpath.write_bytes(weights)
        export_mlp_onnx(mlp_weights(half if check["unchanged"] else model), opath, weights_file=wpath,
                        name=name, half=check["unchanged"])
        onnx_bytes = opath.read_bytes()
    meta = {
        "format": FORMAT_VERSION, "name": name, "base_model": base.name,
        "spec": {"hidden": base.hidden, "param_count": base.param_count,
                 "architecture": f"{base.input_dim} -> {base.hidden} (ReLU) -> {base.classes} (softmax)"},
        "weights_dtype": str(dtype).removeprefix("torch."),
        "half_precision_check": check,
        "training": record["training"],
        "results": {k: record["results"][k]
                    for k in ("test_accuracy", "test_loss", "train_accuracy", "train_loss")},
        **provenance,
        "sha256": {f"{name}.safetensors": hashlib.sha256(weights).hexdigest(),
                   f"{name}.onnx": hashlib.sha256(onnx_bytes).hexdigest()},
    }
    return {f"{name}.safetensors": weights, f"{name}.onnx": onnx_bytes,
            f"{name}.json": (json.dumps(meta, indent=2) + "\n").encode()}


def results_document(cfg: RunConfig, records: list[dict], data: Data, provenance: dict) -> dict:
    ecfg = cfg.evaluation
    return {
        "format": FORMAT_VERSION,
        "description": "MNIST width sweep, standard and adversarial training (training/capacity.py)",
        "n_train": int(cfg.train_size or N_TRAIN),
        "test_set": {"n": int(len(data.y_test)), "subset_seed": ecfg.seed},
        "grids": {"eps": list(ecfg.eps)},
        "settings": {
            "units": "eps in pixel units of [0, 1]",
            "fgsm": "x + eps * sign(grad_x CE(x, y)), clipped to [0, 1], on every evaluated test image "
                    "(core.attacks.fgsm.fgsm_sweep)",
            "pgd": {"steps": ecfg.pgd_steps, "step_size": "2.5 * eps / steps", "random_start": True,
                    "seed": ecfg.seed,
                    "subset_size": int(len(seeded_subset(len(data.y_test), ecfg.pgd_subset, ecfg.seed))),
                    "subset": "training.mnist.seeded_subset(n_test, subset_size, seed) of the evaluated "
                              "test images (core.attacks.pgd.pgd_sweep)"},
            "gradient_norm": "||grad_x p_c(x)||_2, c the predicted class, over the evaluated test images "
                             "(core.experiments.probes.probability_gradient_norms)",
            "train_metrics": "mean cross-entropy and accuracy of a full eval-mode pass over the "
                             "training images",
            "adversarial_training": asdict(cfg.adversarial),
            "adversarial_seeds": sorted({r["seed"] for r in records if r["kind"] == "adversarial"}),
            "autoattack": {"attacks": "APGD-CE, then APGD-T (DLR loss, 9 target classes), each on the images "
                                      "no earlier attack flipped (training.autoattack)",
                           "implementation": "Adversarial Robustness Toolbox (ART) "
                                             "AutoProjectedGradientDescent",
                           "eps": ecfg.autoattack_eps, "iterations": ecfg.autoattack_iterations,
                           "images": int(len(seeded_subset(len(data.y_test), ecfg.autoattack_size, ecfg.seed)))
                           if ecfg.autoattack_size else 0,
                           "subset": "training.mnist.seeded_subset(n_test, images, seed) of the evaluated "
                                     "test images; the project's PGD is run on the same images"},
            "zero_loss_target": cfg.zero_loss_target,
        },
        "networks": records,
        "sweep": sweep_summary(records),
        "provenance": provenance,
    }


def sweep_summary(records: list[dict]) -> dict:
    """Where and how long the networks of this sweep took: the devices and training seconds of the
    networks it trained (the shipped f_n / f_nd are evaluated only), the AutoAttack seconds of every
    network it attacked, and when the first and last training finished (from each job's
    `trained_in` sessions, whichever process ran it). Records carried over are not passed in."""
    trained = [r for r in records if r["training"].get("trained_in")]
    finished = sorted(s["finished"] for r in trained for s in r["training"]["trained_in"] if s.get("finished"))
    aa = [r["results"]["autoattack"]["seconds"] for r in records
          if isinstance(r["results"].get("autoattack"), dict) and "seconds" in r["results"]["autoattack"]]
    return {"trained_networks": len(trained),
            "devices": sorted({s["device"] for r in trained for s in r["training"]["trained_in"]}),
            "training_wall_s_sum": round(sum(r["training"]["wall_s"] for r in trained), 1),
            "autoattack_wall_s_sum": round(sum(aa), 1),
            "first_training_finished": finished[0] if finished else None,
            "last_training_finished": finished[-1] if finished else None}


def _is_cold_start(training: dict) -> bool:
    config = training.get("config", {})
    return not config.get("warmup_epochs") and not config.get("ramp_epochs")


def carried_over(path: Path, doc: dict) -> dict:
    """What a gathering call keeps from an earlier results.json at `path` (read before it is replaced).

    * the zero-loss and standard records of jobs this call did not run (the zero-loss training takes
      hours), each marked with the run it came from;
    * the cold-start comparison: the numbers (not the weights) of the adversarial networks trained
      at the full eps from the first step, the recipe that killed the small networks' units, from
      the earlier file's own comparison or its adversarial records.
    Returns {"networks": ..., "cold_start": ...} to update `doc` with.
    """
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"--carry-over {path}: cannot read it ({exc})") from None
    created = old.get("provenance", {}).get("created", "unknown")
    names = {r["name"] for r in doc["networks"]}
    keep = [dict(r, carried_over_from=r.get("carried_over_from", f"results.json of {created}"))
            for r in old.get("networks", []) if r["kind"] in ("zero_loss", "standard") and r["name"] not in names]
    cold = old.get("cold_start")
    if cold is None:
        nets = [r for r in old.get("networks", []) if r["kind"] == "adversarial" and _is_cold_start(r["training"])]
        cold = {"description": "adversarial training at the full eps from the first step (FGSM with a random "
                               "start, no warm-up, no ramp): the recipe shipped before this sweep. Numbers kept, "
                               "weights not.",
                "source": f"results.json of {created} ({old.get('provenance', {}).get('command', '')})",
                "settings": old.get("settings", {}).get("adversarial_training"),
                "grids": old.get("grids"), "test_set": old.get("test_set"),
                "networks": [{k: r[k] for k in ("name", "hidden", "param_count", "training", "results")}
                             for r in nets]}
    return {"networks": doc["networks"] + keep, "cold_start": cold}


def load_data(cfg: RunConfig, device: torch.device) -> Data:
    x_train, y_train = load_mnist(True, cfg.data_dir, download=False)
    n = cfg.train_size or len(x_train)
    x_all, y_all = load_mnist(False, cfg.data_dir, download=False)
    test_idx = seeded_subset(len(x_all), cfg.evaluation.test_size, cfg.evaluation.seed)
    return Data(torch.from_numpy(x_train[:n]).to(device), torch.from_numpy(y_train[:n]).to(device),
                x_all[test_idx], y_all[test_idx], test_idx)


def run(cfg: RunConfig, argv: list[str] | None = None) -> dict | None:
    """Run every job (train or resume, evaluate or read the cache); with `out`, write the folder."""
    t_start = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    tqdm.write(f"device: {device_description(device)}; jobs: {', '.join(j.name for j in cfg.jobs)}")
    data = load_data(cfg, device)
    done = {}
    for job in cfg.jobs:
        done[job.name] = run_job(job, cfg, data, device)
    if cfg.out is None:
        return None
    files = {}
    for job in cfg.jobs:
        # The app ships seed 0 of the adversarially trained f_n and f_nd (one file each).
        if job.kind == "adversarial" and job.spec.name in MNIST_MODELS and job.seed == 0:
            files.update(adversarial_model_files(done[job.name], data, cfg, device, provenance_record(
                command, device, threads=cfg.threads, smoke=cfg.smoke)))
    records = [done[j.name]["record"] for j in cfg.jobs]
    doc = results_document(cfg, records, data, provenance_record(
        command, device, threads=cfg.threads, smoke=cfg.smoke, started=t_start, wall_key="wall_s_this_call"))
    if cfg.carry_over is not None:
        doc.update(carried_over(cfg.carry_over, doc))
    if cfg.recipe_comparison is not None:
        doc["recipe_comparison"] = json.loads(Path(cfg.recipe_comparison).read_text())
    files[RESULTS_FILE] = (json.dumps(doc, indent=2) + "\n").encode()
    target = Path(cfg.out) / CAPACITY_SUBDIR
    write_results_folder(target, files)
    tqdm.write(f"wrote {target} in {time.perf_counter() - t_start:.0f} s")
    return doc


# --- command line ---------------------------------------------------------------------------

KINDS = ("standard", "adversarial", "zero_loss")
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_WARMUP = 0
DEFAULT_RAMP = 3  # chosen on h = 16, 32, 64: see the README's recipe comparison


def all_jobs(widths: tuple[int, ...], zero_loss: tuple[str, ...], seeds: tuple[int, ...] = (0,)) -> list[Job]:
    jobs = [Job("standard", h) for h in widths]
    jobs += [Job("adversarial", h, seed) for seed in seeds for h in widths]
    jobs += [Job("zero_loss", MNIST_MODELS[m].hidden) for m in zero_loss]
    return jobs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0],
                                epilog="Full run: python -m training.capacity --data-dir ../shared/data "
                                       "--out pretrained")
    p.add_argument("--widths", type=cli.positive_int(100_000), nargs="+", default=None,
                   help=f"hidden widths h (default: {' '.join(map(str, WIDTHS))}; 16 151 with --smoke)")
    p.add_argument("--zero-loss", nargs="*", default=list(MNIST_MODELS), choices=list(MNIST_MODELS),
                   help="talk models retrained to the lower loss target (default: f_n f_nd; none: no argument)")
    p.add_argument("--jobs", nargs="+", default=None, metavar="NAME",
                   help="run only these jobs (e.g. standard_h16 adversarial_h3774 zero_loss_f_n); "
                        "default: every job of --widths and --zero-loss")
    cli.add_data_dir(p)
    cli.add_out(p, "root of the artifacts, written to <out>/capacity; nothing is written without it")
    cli.add_run_dir(p, "checkpoints and cached evaluations (default: runs/capacity, or runs/capacity_smoke)")
    p.add_argument("--shipped", default=None,
                   help=f"root of the shipped f_n / f_nd (default: {PRETRAINED_DIR})")
    cli.add_device(p, threads=2)
    p.add_argument("--adv-epochs", type=cli.positive_int(10_000), default=None,
                   help="adversarial training epochs (default: 10; 2 with --smoke)")
    p.add_argument("--adv-method", default="fgsm_rs", choices=["fgsm_rs", "pgd"],
                   help="fgsm_rs (Wong et al. 2020, default) or pgd (Madry et al. 2018)")
    p.add_argument("--adv-eps", type=cli.finite_float(low=0, high=1), default=0.1, help="adversarial training budget (default: 0.1)")
    p.add_argument("--adv-warmup", type=cli.positive_int(10_000, minimum=0), default=DEFAULT_WARMUP,
                   help=f"clean epochs before the attack starts (default: {DEFAULT_WARMUP})")
    p.add_argument("--adv-ramp", type=cli.positive_int(10_000, minimum=0), default=DEFAULT_RAMP,
                   help=f"epochs over which the training eps rises linearly to --adv-eps (default: "
                        f"{DEFAULT_RAMP}; 0 with --adv-warmup 0 is the cold start that kills small networks)")
    p.add_argument("--seeds", type=cli.positive_int(10_000, minimum=0), nargs="+", default=None,
                   help="seeds of the adversarial runs, one network per width and seed (default: 0 1 2; "
                        "0 with --smoke)")
    p.add_argument("--adv-lr-decay", type=cli.finite_float(low=0, high=1), default=0.8,
                   help="lr factor per adversarial epoch (default: 0.8)")
    p.add_argument("--check-size", type=cli.positive_int(N_TRAIN), default=None,
                   help="training images in the per-epoch PGD check (default: 1000; 200 with --smoke)")
    p.add_argument("--standard-cap", nargs=2, type=cli.positive_int(10_000), default=None, metavar=("F_N_SCHEDULE", "F_ND_SCHEDULE"),
                   help="epoch caps of the standard runs on f_n's and f_nd's schedule "
                        "(default: 100 30, the shipped caps)")
    p.add_argument("--zero-loss-target", type=cli.finite_float(low=0), default=1e-5,
                   help="loss target of --zero-loss (default: 1e-5)")
    p.add_argument("--zero-loss-cap", nargs=2, type=cli.positive_int(10_000), default=None, metavar=("F_N", "F_ND"),
                   help="epoch caps of the zero-loss runs (default: 150 40)")
    p.add_argument("--pgd-subset", type=cli.positive_int(N_TEST, minimum=0), default=None,
                   help="PGD on a seeded subset of N test images, 0 for all (default: 2000, as "
                        "training.mnist; 100 with --smoke)")
    p.add_argument("--pgd-steps", type=cli.positive_int(10_000), default=None,
                   help="PGD iterations of the evaluation (default: 10; 3 with --smoke)")
    p.add_argument("--autoattack-size", type=cli.positive_int(N_TEST, minimum=0), default=None,
                   help="AutoAttack (APGD-CE + APGD-T, ART) at eps 0.1 on a seeded subset of N test "
                        "images, 0 for none (default: 1000; 50 with --smoke)")
    p.add_argument("--test-size", type=cli.positive_int(N_TEST), default=None,
                   help="evaluate on a seeded subset of N test images (default: all; 500 with --smoke)")
    p.add_argument("--train-size", type=cli.positive_int(N_TRAIN), default=None,
                   help="train on the first N training images (default: all; 2,000 with --smoke)")
    p.add_argument("--carry-over", default=None, metavar="RESULTS_JSON",
                   help="an earlier results.json: keep its zero-loss records of jobs not run here, and its "
                        "cold-start adversarial numbers as the documented comparison")
    p.add_argument("--recipe-comparison", default=None, metavar="SUMMARY_JSON",
                   help="the summary of python -m training.capacity_recipes, embedded in results.json")
    cli.add_resume(p, "the checkpoints in --run-dir")
    cli.add_smoke(p, "the whole pipeline, tiny: widths 16 and 151, 2,000 training images, 2 epochs, "
                     "500 test images, a coarse eps grid, PGD of 3 steps on 100 images; never into "
                     "pretrained/. Sizes given explicitly are used as given")
    return p


def config_from_args(args: argparse.Namespace) -> RunConfig:
    smoke = args.smoke
    widths = tuple(dict.fromkeys(cli.or_default(args.widths, (16, 151) if smoke else WIDTHS)))
    for h in widths:
        if h < 1:
            raise InputError(f"--widths must be positive, got {h}")
    for label, value in (("--adv-epochs", args.adv_epochs), ("--check-size", args.check_size),
                         ("--pgd-steps", args.pgd_steps), ("--threads", args.threads),
                         ("--train-size", args.train_size), ("--test-size", args.test_size)):
        if value is not None and value < 1:
            raise InputError(f"{label} must be >= 1, got {value}")
    if not 0 < args.adv_eps <= 1:
        raise InputError(f"--adv-eps must lie in (0, 1], got {args.adv_eps}")
    seeds = tuple(dict.fromkeys(cli.or_default(args.seeds, (0,) if smoke else DEFAULT_SEEDS)))
    jobs = all_jobs(widths, tuple(args.zero_loss), seeds)
    if args.jobs:
        known = {j.name: j for j in jobs}
        unknown = [n for n in args.jobs if n not in known]
        if unknown:
            raise InputError(f"--jobs: unknown {unknown}; with these --widths the jobs are {', '.join(known)}")
        jobs = [known[n] for n in args.jobs]
    train_size = args.train_size if args.train_size is not None else (2000 if smoke else None)
    # An option given with --smoke is used as given; only the ones left out take the smoke size.
    adv = AdvConfig(epochs=cli.or_default(args.adv_epochs, 2 if smoke else 10), eps=args.adv_eps,
                    method=args.adv_method, lr_decay=args.adv_lr_decay, warmup_epochs=args.adv_warmup,
                    ramp_epochs=args.adv_ramp,
                    check_size=cli.or_default(args.check_size, 200 if smoke else 1000), train_size=train_size)
    evaluation = EvalConfig(
        eps=FGSM_EPS[::4] + (FGSM_EPS[-1],) if smoke else FGSM_EPS,
        pgd_steps=cli.or_default(args.pgd_steps, 3 if smoke else 10),
        pgd_subset=cli.or_default(args.pgd_subset, 100 if smoke else 2000) or None,
        test_size=args.test_size if args.test_size is not None else (500 if smoke else None),
        autoattack_size=cli.or_default(args.autoattack_size, 50 if smoke else 1000),
        autoattack_iterations=10 if smoke else 100,
    )
    caps = dict(zip(("f_n", "f_nd"), args.standard_cap or ((2, 2) if smoke else (100, 30))))
    zcaps = dict(zip(("f_n", "f_nd"), args.zero_loss_cap or ((2, 2) if smoke else (150, 40))))
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs/capacity_smoke" if smoke else "runs/capacity")
    cli.refuse_smoke_into_shipped(Path(args.out) / CAPACITY_SUBDIR if args.out else None, smoke)
    cli.refuse_smoke_into_shipped(run_dir, smoke, "--run-dir")
    return RunConfig(jobs=tuple(jobs), adversarial=adv, evaluation=evaluation,
                     data_dir=mnist_root(args.data_dir),
                     run_dir=run_dir, out=Path(args.out) if args.out else None,
                     shipped_root=Path(args.shipped) if args.shipped else PRETRAINED_DIR,
                     standard_caps=caps, zero_loss_target=args.zero_loss_target, zero_loss_caps=zcaps,
                     train_size=train_size, device=args.device, threads=args.threads,
                     resume=args.resume, smoke=smoke,
                     carry_over=Path(args.carry_over) if args.carry_over else None,
                     recipe_comparison=Path(args.recipe_comparison) if args.recipe_comparison else None)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; errors a user can cause are printed without a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    return cli.run_main(lambda: run(config_from_args(args), argv) and 0)


if __name__ == "__main__":
    sys.exit(main())
