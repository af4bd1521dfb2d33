"""Train the talk's MNIST models f_n and f_nd, evaluate and attack them, and ship the results.

The experiment of the talk (Bubeck's "law of robustness"): two one-hidden-layer ReLU MLPs,
f_n (h = 151, 120k parameters, p ~ n) and f_nd (h = 3774, 3M parameters, p ~ nd), trained on the
60,000 MNIST training images (pixels in [0, 1]) with Adam and cross-entropy until the training
loss is essentially zero; then, on the 10,000 test images, their accuracy and loss, FGSM
(Goodfellow et al. 2015) and Gaussian white noise sweeps, and beyond the talk PGD-Linf (Madry et
al. 2018), the smallest FGSM eps flipping each image, input-gradient norms and spectral bounds.

Stopping rule: after every epoch a full pass over the training set in eval mode measures the
mean cross-entropy and the accuracy; training stops when accuracy == 100% and mean loss <= 1e-3
(`--target-loss`), or after `--max-epochs`. The learning rate decays geometrically per epoch
(lr_e = lr * lr_decay ** e), a schedule that does not depend on the epoch cap, so a run resumed
with a larger cap continues exactly as an uninterrupted one would.

Training runs on the shared resumable loop (`training.loop`): a checkpoint is written atomically
to `<run-dir>/<model>/checkpoint.pt` after every epoch, and a killed run continues from there
(`--resume`, the default); a model whose checkpoint already met the rule or the cap is not
retrained, so re-running the command only redoes the export and evaluation.

Writes into `<out>/mnist/` (see `core.results.pretrained` for the reader):

    <model>.safetensors, <model>.onnx, <model>.json   weights, ONNX graph, metadata per model
    sweeps.json                                        every curve, with exact grids and provenance
    sample.npz                                         stratified test images for the app
    manifest.json                                      sha256 of every file above

Usage:
    python -m training.mnist --data-dir ../shared/data            # the full run -> pretrained/
    python -m training.mnist --smoke --out /tmp/smoke              # whole pipeline, tiny, < 1 min
    python -m training.mnist --help
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.attacks.flip import FLIP_GRID
from core.data import load_mnist, mnist_root
from core.errors import InputError
from core.files import atomic_write_bytes, atomic_write_json, sha256_file, staged_folder
from core.results.pretrained import SAMPLE_FILE, SWEEPS_FILE, mnist_dir, write_manifest
from core.runtimes.models import MLP, build_mlp, mlp_weights, save_weights
from core.runtimes.onnx_export import export_mlp_onnx
from core.specs import MNIST_MODELS, MLPSpec, get_mnist_spec
from training import cli
from training.loop import EpochReport, Schedule, full_pass, train_epochs
from training.runinfo import device_description, provenance_record, resolve_device

COMMAND = "python -m training.mnist"
FORMAT_VERSION = 1
MNIST_TRAIN_IMAGES, MNIST_TEST_IMAGES = 60_000, 10_000  # the bounds of every size option
MAX_EPOCHS = 10_000

# The talk's grids: 20 equally spaced budgets, zero included.
FGSM_EPS = tuple(float(e) for e in np.linspace(0.0, 0.1, 20))
NOISE_STD = tuple(float(s) for s in np.linspace(0.0, 0.5, 20))


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained. Everything but `max_epochs` must match to resume a checkpoint.

    Attributes:
        seed: seeds the initialisation (build_mlp) and the shuffling generator.
        lr: Adam's initial learning rate. lr_decay: factor per epoch (lr_e = lr * lr_decay**e).
        batch_size: images per step. train_size: first N training images (None: all 60,000).
        max_epochs: the cap. target_loss / target_accuracy: the stopping rule, measured in a full
            eval-mode pass over the training set after each epoch.
    """

    seed: int = 0
    lr: float = 1e-3
    lr_decay: float = 0.9
    batch_size: int = 128
    train_size: int | None = None
    max_epochs: int = 30
    target_loss: float = 1e-3
    target_accuracy: float = 1.0

    def resume_key(self) -> dict:
        """The settings a checkpoint must share with this config to be continued."""
        key = asdict(self)
        key.pop("max_epochs")
        return key

    @property
    def stopping_rule(self) -> str:
        return (
            f"stop when a full eval-mode pass over the training set gives accuracy >= "
            f"{self.target_accuracy:g} and mean cross-entropy <= {self.target_loss:g}, "
            f"or after {self.max_epochs} epochs"
        )


@dataclass(frozen=True)
class EvalConfig:
    """What is measured on the test set. Budgets are in pixel units of [0, 1].

    Attributes:
        test_size: evaluate on a seeded subset of this many test images (None: all 10,000).
        fgsm_eps, noise_std, pgd_eps: the sweep grids. noise_seeds: noise fields averaged.
        pgd_steps: PGD iterations (step size 2.5 eps / steps, random start, seed pgd_seed).
        pgd_subset: PGD runs on a seeded subset of this many evaluated images (None: all).
        flip_grid: eps grid scanned by min_flip_eps. sample_size: images in sample.npz,
            stratified by class with sample_seed. sample_eps: FGSM budgets re-measured on the sample.
        batch_size: images per forward/backward pass.
    """

    test_size: int | None = None
    fgsm_eps: tuple[float, ...] = FGSM_EPS
    noise_std: tuple[float, ...] = NOISE_STD
    noise_seeds: tuple[int, ...] = (0, 1, 2)
    pgd_eps: tuple[float, ...] = FGSM_EPS
    pgd_steps: int = 10
    pgd_seed: int = 0
    pgd_subset: int | None = 2000
    flip_grid: tuple[float, ...] = FLIP_GRID
    sample_size: int = 300
    sample_seed: int = 0
    sample_eps: tuple[float, ...] = (0.05, 0.1)
    subset_seed: int = 0
    batch_size: int = 1000


@dataclass(frozen=True)
class RunConfig:
    """One invocation: which models, where the data and outputs are, and the two configs above.

    `train` maps each model name to its `TrainConfig` (the caps and decay differ per model).
    """

    models: tuple[str, ...]
    train: dict[str, TrainConfig]
    evaluation: EvalConfig
    data_dir: Path
    out: Path
    run_dir: Path
    device: str = "auto"
    threads: int = 2
    resume: bool = True
    evaluate: bool = True
    download: bool = False
    smoke: bool = False


# Per-model defaults of the full run: f_nd's epochs are ~50x dearer than f_n's, and f_n needs
# many more of them to get near zero loss with 151 hidden units.
DEFAULT_MAX_EPOCHS = {"f_n": 100, "f_nd": 30}
DEFAULT_LR_DECAY = {"f_n": 0.97, "f_nd": 0.88}


# --- data -----------------------------------------------------------------------------------


def seeded_subset(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of size n (all indices when n is None or too big)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def stratified_sample(labels: np.ndarray, size: int, seed: int, classes: int = 10) -> np.ndarray:
    """Sorted indices of `size` images, as equal a number per class as possible, seeded."""
    if size < 1:
        raise InputError(f"sample size must be >= 1, got {size}")
    rng = np.random.default_rng(seed)
    per_class = [size // classes + (1 if c < size % classes else 0) for c in range(classes)]
    picked = []
    for c, k in enumerate(per_class):
        pool = np.flatnonzero(labels == c)
        if len(pool) < k:
            raise InputError(f"only {len(pool)} images of class {c}, cannot sample {k}")
        picked.append(rng.choice(pool, size=k, replace=False))
    return np.sort(np.concatenate(picked))


# --- training -------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """A trained model and how it got there (history: one dict per epoch)."""

    model: MLP
    config: TrainConfig
    epochs: int
    rule_met: bool
    history: list[dict] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


def train_model(
    spec: MLPSpec,
    cfg: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    run_dir: Path,
    device: torch.device,
    resume: bool = True,
) -> TrainResult:
    """Train `spec` on (x, y) with Adam until the stopping rule or the cap, checkpointing each epoch.

    Args:
        x: float32 [N, 784] in [0, 1] on `device`; y: int64 [N] on `device`.
        run_dir: folder of this model's checkpoint (created).
        resume: continue from `run_dir/checkpoint.pt` if it exists and has the same settings.
    The stopping rule is measured by a full eval-mode pass over (x, y) after every epoch.
    """

    def measure(record: dict, history: list[dict], state: dict) -> EpochReport:
        train_loss, train_acc = full_pass(model, x, y)
        record.update(train_loss=train_loss, train_accuracy=train_acc)
        state["rule_met"] = train_acc >= cfg.target_accuracy and train_loss <= cfg.target_loss
        return EpochReport(f"train loss {train_loss:.3e}, train acc {train_acc:.5f}",
                           {"loss": f"{train_loss:.2e}", "acc": f"{train_acc:.5f}"})

    model = build_mlp(spec, seed=cfg.seed).to(device)
    schedule = Schedule(seed=cfg.seed, lr=cfg.lr, lr_decay=cfg.lr_decay, batch_size=cfg.batch_size,
                        max_epochs=cfg.max_epochs)
    run = train_epochs(model, x, y, run_dir, schedule, label=spec.name, model_name=spec.name,
                       resume_key=cfg.resume_key(), after_epoch=measure,
                       stopped=lambda state: bool(state["rule_met"]), state={"rule_met": False},
                       stop_note="stopping rule met", resume=resume)
    return TrainResult(model, cfg, run.epochs, run.stopped, run.history, run.wall_s)


# --- evaluation -----------------------------------------------------------------------------


def _results(sweep) -> list[dict]:
    return [r.to_dict() for r in sweep]


def flip_summary(flip: np.ndarray, grid: tuple[float, ...]) -> dict:
    """The smallest flipping FGSM eps of every image, as counts per grid value plus quantiles.

    Lossless for the distribution (values only fall on the grid); `never` counts images no eps on
    the grid flips. Quantiles treat those as +inf (null in JSON when the quantile is infinite).
    """
    finite = np.isfinite(flip)
    grid_arr = np.asarray(grid)
    counts = [int(np.sum(flip[finite] == g)) for g in grid_arr]
    qs = {}
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        v = float(np.quantile(np.where(finite, flip, np.inf), q, method="lower"))
        qs[f"{q:g}"] = v if np.isfinite(v) else None
    return {
        "grid": list(grid),
        "counts": counts,
        "never": int(np.sum(~finite)),
        "n": int(flip.size),
        "quantiles": qs,
        "mean_flipped": float(flip[finite].mean()) if finite.any() else None,
    }


def evaluate_model(model: MLP, name: str, x: np.ndarray, y: np.ndarray, cfg: EvalConfig,
                   device: torch.device) -> dict:
    """Every test-set measurement of one model (torch backend), as JSON-ready dicts."""
    from core.attacks.fgsm import fgsm_sweep
    from core.attacks.flip import min_flip_eps
    from core.attacks.noise import noise_sweep
    from core.attacks.pgd import pgd_sweep
    from core.experiments.probes import probability_gradient_norms, spectral_norm_bound
    from core.runtimes.torch_runtime import TorchClassifier

    clf = TorchClassifier(model, name=name, device=device)
    bs = cfg.batch_size
    timings = {}

    def timed(key, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[key] = round(time.perf_counter() - t0, 2)
        tqdm.write(f"[{name}] {key}: {timings[key]:.1f} s")
        return out

    test_loss, test_acc = full_pass(model, torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
    fgsm = timed("fgsm", lambda: fgsm_sweep(clf, x, y, cfg.fgsm_eps, batch_size=bs))
    noise = timed("noise", lambda: noise_sweep(clf, x, y, cfg.noise_std, seeds=cfg.noise_seeds, batch_size=bs))
    pgd_idx = seeded_subset(len(x), cfg.pgd_subset, cfg.pgd_seed)
    pgd = timed("pgd", lambda: pgd_sweep(clf, x[pgd_idx], y[pgd_idx], cfg.pgd_eps, steps=cfg.pgd_steps,
                                         seed=cfg.pgd_seed, batch_size=bs))
    flip = timed("flip", lambda: min_flip_eps(clf, x, cfg.flip_grid, batch_size=bs))
    grads = timed("gradients", lambda: probability_gradient_norms(clf, x, batch_size=bs))
    weights = mlp_weights(model)
    return {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "fgsm": _results(fgsm),
        "noise": _results(noise),
        "pgd": _results(pgd),
        "flip_eps": flip_summary(flip, cfg.flip_grid),
        "gradient_norms": {
            "quantity": "||grad_x p_c(x)||_2, c the predicted class, over the evaluated test images",
            "max": grads.max,
            "mean": grads.mean,
            "median": float(np.median(grads.norms)),
            "n": int(grads.norms.size),
        },
        "spectral_norm_bound": {
            "quantity": "||fc1.weight||_2 * ||fc2.weight||_2 (upper bound on Lip of the logits)",
            "value": spectral_norm_bound([weights["fc1.weight"], weights["fc2.weight"]]),
        },
        "seconds": timings,
    }


def sample_measurements(onnx_path: Path, name: str, images: np.ndarray, labels: np.ndarray,
                        cfg: EvalConfig) -> dict:
    """Clean and FGSM accuracy on the shipped sample with the ONNX runtime (what the app runs).

    `tests/pretrained/test_mnist.py` recomputes exactly this from the shipped files.
    """
    from core.attacks.fgsm import fgsm_sweep
    from core.attacks.flip import min_flip_eps
    from core.runtimes.onnx_runtime import OnnxClassifier

    clf = OnnxClassifier(onnx_path, name=name)
    sweep = fgsm_sweep(clf, images, labels, (0.0, *cfg.sample_eps))
    flip = min_flip_eps(clf, images, cfg.flip_grid)
    return {
        "backend": "onnxruntime (core.runtimes.onnx_runtime.OnnxClassifier)",
        "clean": sweep[0].to_dict(),
        "fgsm": _results(sweep[1:]),
        "flip_eps": [float(v) if np.isfinite(v) else None for v in flip],
    }


# --- the pipeline ---------------------------------------------------------------------------


def write_sample(out: Path, x_test: np.ndarray, y_test: np.ndarray, test_idx: np.ndarray,
                 cfg: EvalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Write sample.npz (stratified test images as uint8 grey levels, labels, test-set indices).

    Returns the images and labels read back the way the app reads them (float32 [N, 784] in
    [0, 1], int64 [N]), so that numbers measured on them are the app's numbers.
    """
    pos = stratified_sample(y_test, cfg.sample_size, cfg.sample_seed)
    buf = io.BytesIO()
    np.savez_compressed(buf, images=np.rint(x_test[pos] * 255).astype(np.uint8).reshape(-1, 28, 28),
                        labels=y_test[pos].astype(np.int64), indices=test_idx[pos].astype(np.int64))
    atomic_write_bytes(out / SAMPLE_FILE, buf.getvalue())
    with np.load(out / SAMPLE_FILE, allow_pickle=False) as data:
        images = data["images"].reshape(len(data["images"]), -1).astype(np.float32) / np.float32(255.0)
        return images, data["labels"].astype(np.int64)


def write_model_files(out: Path, spec: MLPSpec, model: MLP) -> dict[str, str]:
    """Write <name>.safetensors and the <name>.onnx that references it; returns their sha256."""
    weights_path, onnx_path = out / spec.weights_file, out / spec.onnx_file
    save_weights(model, weights_path, metadata={"model": spec.name})
    export_mlp_onnx(mlp_weights(model), onnx_path, weights_file=weights_path, name=spec.name)
    return {spec.weights_file: sha256_file(weights_path), spec.onnx_file: sha256_file(onnx_path)}


def model_document(spec: MLPSpec, res: TrainResult, results: dict, n_test: int, eval_s: float,
                   provenance: dict, files: dict[str, str]) -> dict:
    """The metadata JSON of one model: enough to rebuild it and to know how it was made."""
    return {
        "format": FORMAT_VERSION,
        "name": spec.name,
        "spec": {"name": spec.name, "hidden": spec.hidden, "param_count": spec.param_count,
                 "input_dim": spec.input_dim, "classes": spec.classes, "label": spec.label,
                 "architecture": f"{spec.input_dim} -> {spec.hidden} (ReLU) -> {spec.classes} (softmax)"},
        "training": {
            "config": asdict(res.config),
            "optimizer": "torch.optim.Adam (default betas and eps), mean cross-entropy over each batch",
            "lr_schedule": "lr * lr_decay ** epoch, set at the start of each epoch",
            "data": f"MNIST training set, first {res.config.train_size or 60000} images, pixels in [0, 1]",
            "stopping_rule": res.config.stopping_rule,
            "rule_met": res.rule_met,
            "epochs": res.epochs,
            "final_train_loss": res.final.get("train_loss"),
            "final_train_accuracy": res.final.get("train_accuracy"),
            "history": res.history,
            "wall_s": round(res.wall_s, 1),
            "seed": res.config.seed,
        },
        "results": {
            "test_accuracy": results["test_accuracy"],
            "test_loss": results["test_loss"],
            "n_test": n_test,
            "evaluation_wall_s": round(eval_s, 1),
        },
        **provenance,
        "sha256": files,
    }


def sweeps_document(cfg: EvalConfig, models: dict, n_test: int, n_total: int, n_sample: int,
                    provenance: dict) -> dict:
    """sweeps.json: the exact grids and settings, every model's curves, and provenance."""
    return {
        "format": FORMAT_VERSION,
        "description": "MNIST test-set robustness curves of the talk's models (see training/mnist.py)",
        "test_set": {"n": n_test, "of": n_total, "subset_seed": cfg.subset_seed},
        "grids": {
            "fgsm_eps": list(cfg.fgsm_eps),
            "noise_std": list(cfg.noise_std),
            "pgd_eps": list(cfg.pgd_eps),
            "flip_eps": list(cfg.flip_grid),
            "sample_fgsm_eps": list(cfg.sample_eps),
        },
        "settings": {
            "backend": "torch (core.runtimes.torch_runtime.TorchClassifier); sample numbers with onnxruntime",
            "units": "eps and std in pixel units of [0, 1]",
            "fgsm": "x + eps * sign(grad_x CE(x, y)), clipped to [0, 1] (core.attacks.fgsm.fgsm_sweep)",
            "noise": {"seeds": list(cfg.noise_seeds),
                      "how": "x + std * N(0, 1) per pixel, clipped; mean over seeds (core.attacks.noise.noise_sweep)"},
            "pgd": {"steps": cfg.pgd_steps, "step_size": "2.5 * eps / steps", "random_start": True,
                    "seed": cfg.pgd_seed,
                    "subset_size": int(len(seeded_subset(n_test, cfg.pgd_subset, cfg.pgd_seed))),
                    "subset": "seeded_subset(n_test, subset_size, seed) of the evaluated test images "
                              "(training.mnist)"},
            "flip_eps": "smallest eps on the grid at which FGSM against the model's own prediction "
                        "changes it (core.attacks.flip.min_flip_eps)",
            "sample": {"n": n_sample, "seed": cfg.sample_seed, "stratified_by_class": True},
        },
        "models": models,
        "provenance": provenance,
    }


def run(cfg: RunConfig, argv: list[str] | None = None) -> dict:
    """Train, export, evaluate and write every artifact; returns the sweeps dict ({} with --no-evaluate)."""
    t_start = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    specs = [get_mnist_spec(n) for n in cfg.models]
    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    tqdm.write(f"device: {device_description(device)}; models: {', '.join(cfg.models)}")

    x_train, y_train = load_mnist(True, cfg.data_dir, download=cfg.download)
    trained: dict[str, TrainResult] = {}
    for spec in specs:
        tcfg = cfg.train[spec.name]
        n = tcfg.train_size or len(x_train)
        xt, yt = torch.from_numpy(x_train[:n]).to(device), torch.from_numpy(y_train[:n]).to(device)
        trained[spec.name] = train_model(spec, tcfg, xt, yt, cfg.run_dir / spec.name, device, cfg.resume)
    del x_train, y_train, xt, yt
    if not cfg.evaluate:
        return {}

    # Every file goes to a staging copy of <out>/mnist, swapped in whole at the end: a run killed
    # while evaluating or writing leaves the shipped results as they were.
    with staged_folder(mnist_dir(cfg.out)) as out:
        sweeps = _evaluate_and_write(cfg, trained, specs, out, device, command, t_start)
    tqdm.write(f"wrote {mnist_dir(cfg.out)} in {time.perf_counter() - t_start:.0f} s")
    return sweeps


def _evaluate_and_write(cfg: RunConfig, trained: dict, specs: list[MLPSpec], out: Path,
                        device: torch.device, command: str, t_start: float) -> dict:
    """Evaluate the trained models and write every artifact into the folder `out`."""
    ecfg = cfg.evaluation
    x_all, y_all = load_mnist(False, cfg.data_dir, download=cfg.download)
    test_idx = seeded_subset(len(x_all), ecfg.test_size, ecfg.subset_seed)
    x_test, y_test = x_all[test_idx], y_all[test_idx]
    s_images, s_labels = write_sample(out, x_test, y_test, test_idx, ecfg)

    models_out = {}
    for spec in specs:
        res = trained[spec.name]
        files = write_model_files(out, spec, res.model)
        t0 = time.perf_counter()
        results = evaluate_model(res.model, spec.name, x_test, y_test, ecfg, device)
        results["sample"] = sample_measurements(out / spec.onnx_file, spec.name, s_images, s_labels, ecfg)
        results["source_sha256"] = files
        eval_s = time.perf_counter() - t0
        models_out[spec.name] = results
        tqdm.write(f"[{spec.name}] test accuracy {results['test_accuracy']:.4f}, "
                   f"test loss {results['test_loss']:.4f} (evaluated in {eval_s:.0f} s)")
        doc = model_document(spec, res, results, len(y_test), eval_s,
                             provenance_record(command, device, smoke=cfg.smoke), files)
        atomic_write_json(out / spec.metadata_file, doc)

    sweeps = sweeps_document(ecfg, models_out, len(y_test), len(y_all), len(s_labels),
                             provenance_record(command, device, smoke=cfg.smoke, started=t_start))
    atomic_write_json(out / SWEEPS_FILE, sweeps)
    # Written last: the checksums of every file in the folder (models of earlier runs included).
    write_manifest(out, "training.mnist")
    return sweeps


# --- command line ---------------------------------------------------------------------------


def _per_model(values: list[str] | None, defaults: dict[str, float], cast, option: str,
               models: tuple[str, ...]) -> dict:
    """Parse `VALUE` (every model) or `NAME=VALUE` items into a value per model."""
    out = {m: defaults.get(m, next(iter(defaults.values()))) for m in models}
    for item in values or []:
        name, sep, value = item.rpartition("=")
        try:
            parsed = cast(value)
        except ValueError:
            raise InputError(f"{option}: {item!r} is not VALUE or NAME=VALUE") from None
        if not sep:
            out = {m: parsed for m in models}
        elif name in MNIST_MODELS:
            out[name] = parsed
        else:
            raise InputError(f"{option}: unknown model {name!r}; choose from {', '.join(MNIST_MODELS)}")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=COMMAND,
        description=__doc__.split("\n\n")[0],
        epilog="Full run: python -m training.mnist --data-dir ../shared/data",
    )
    p.add_argument("--models", nargs="+", default=list(MNIST_MODELS), choices=list(MNIST_MODELS),
                   help="models to train, evaluate and ship (default: f_n f_nd)")
    cli.add_data_dir(p)
    p.add_argument("--download", action="store_true",
                   help="let torchvision download MNIST if it is not in --data-dir")
    cli.add_out(p, "root of the artifacts; they go to <out>/mnist (default: pretrained, or runs/smoke with "
                   "--smoke)")
    cli.add_run_dir(p, "checkpoints (default: runs/mnist, or <out>/checkpoints with --smoke)")
    cli.add_seed(p, "seed of initialisation, shuffling, subsets and noise")
    cli.add_device(p, threads=2)
    p.add_argument("--max-epochs", nargs="+", default=None, metavar="[NAME=]N",
                   help=f"epoch cap, for all models or per model (default: {DEFAULT_MAX_EPOCHS})")
    p.add_argument("--lr", type=cli.finite_float(low=0, high=10), default=1e-3, help="Adam's initial learning rate (default: 1e-3)")
    p.add_argument("--lr-decay", nargs="+", default=None, metavar="[NAME=]F",
                   help=f"learning-rate factor per epoch (default: {DEFAULT_LR_DECAY})")
    p.add_argument("--batch-size", type=cli.positive_int(MNIST_TRAIN_IMAGES), default=128, help="images per step (default: 128)")
    p.add_argument("--target-loss", type=cli.finite_float(low=0), default=1e-3,
                   help="stopping rule: mean training loss at most this (default: 1e-3)")
    p.add_argument("--target-accuracy", type=cli.finite_float(low=0, high=1), default=1.0,
                   help="stopping rule: training accuracy at least this (default: 1.0, every image right)")
    p.add_argument("--train-size", type=cli.positive_int(MNIST_TRAIN_IMAGES), default=None,
                   help="use only the first N training images (default: all; 2,000 with --smoke)")
    p.add_argument("--test-size", type=cli.positive_int(MNIST_TEST_IMAGES), default=None,
                   help="evaluate on a seeded subset of N test images (default: all; 500 with --smoke)")
    p.add_argument("--pgd-subset", type=cli.positive_int(MNIST_TEST_IMAGES, minimum=0), default=None,
                   help="PGD on a seeded subset of N test images, 0 for all (default: 2000; 100 with --smoke)")
    p.add_argument("--pgd-steps", type=cli.positive_int(10_000), default=None,
                   help="PGD iterations (default: 10; 3 with --smoke)")
    p.add_argument("--sample-size", type=cli.positive_int(MNIST_TEST_IMAGES), default=None,
                   help="test images in sample.npz (default: 300; 50 with --smoke)")
    cli.add_resume(p, "the checkpoints in --run-dir")
    p.add_argument("--evaluate", action=argparse.BooleanOptionalAction, default=True,
                   help="after training, export and evaluate the models and write --out "
                        "(default: on; --no-evaluate: train and checkpoint only)")
    cli.add_smoke(p, "the whole pipeline, tiny: 2,000 training images, 2 epochs, 500 test images, "
                     "coarse PGD / noise / flip grids, 50 sample images; writes to runs/smoke "
                     "unless --out is given, never into pretrained/. Sizes given explicitly are used "
                     "as given")
    return p


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Turn parsed arguments into a `RunConfig`, applying the --smoke sizes."""
    models = tuple(dict.fromkeys(args.models))
    smoke = args.smoke
    max_epochs = _per_model(args.max_epochs, {m: 2 for m in MNIST_MODELS} if smoke else DEFAULT_MAX_EPOCHS,
                            int, "--max-epochs", models)
    lr_decay = _per_model(args.lr_decay, DEFAULT_LR_DECAY, float, "--lr-decay", models)
    train_size = args.train_size if args.train_size is not None else (2000 if smoke else None)
    for label, value in (("--train-size", train_size), ("--test-size", args.test_size),
                         ("--batch-size", args.batch_size), ("--sample-size", args.sample_size),
                         ("--pgd-steps", args.pgd_steps), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise InputError(f"{label} must be >= 1, got {value}")
    for m in models:
        if not 1 <= max_epochs[m] <= MAX_EPOCHS:
            raise InputError(f"--max-epochs must be from 1 to {MAX_EPOCHS:,}, got {max_epochs[m]} for {m}")
        if not 0 < lr_decay[m] <= 1:
            raise InputError(f"--lr-decay must lie in (0, 1], got {lr_decay[m]} for {m}")
    if not (args.lr > 0 and args.target_loss > 0):
        raise InputError("--lr and --target-loss must be > 0")
    if not 0 < args.target_accuracy <= 1:
        raise InputError(f"--target-accuracy must lie in (0, 1], got {args.target_accuracy}")
    train = {m: TrainConfig(seed=args.seed, lr=args.lr, lr_decay=lr_decay[m], batch_size=args.batch_size,
                            train_size=train_size, max_epochs=max_epochs[m], target_loss=args.target_loss,
                            target_accuracy=args.target_accuracy)
             for m in models}
    evaluation = EvalConfig(
        test_size=args.test_size if args.test_size is not None else (500 if smoke else None),
        pgd_subset=cli.or_default(args.pgd_subset, 100 if smoke else 2000) or None,
        pgd_steps=cli.or_default(args.pgd_steps, 3 if smoke else 10),
        sample_size=cli.or_default(args.sample_size, 50 if smoke else 300),
        subset_seed=args.seed,
        sample_seed=args.seed,
        pgd_seed=args.seed,
        noise_seeds=tuple(args.seed + i for i in range(3)),
    )
    if smoke:
        evaluation = replace(evaluation, pgd_eps=FGSM_EPS[::4], noise_std=NOISE_STD[::4],
                             flip_grid=tuple(round(0.02 * i, 6) for i in range(16)))
    out = Path(args.out) if args.out else Path("runs/smoke" if smoke else "pretrained")
    run_dir = Path(args.run_dir) if args.run_dir else (out / "checkpoints" if smoke else Path("runs/mnist"))
    cli.refuse_smoke_into_shipped(mnist_dir(out), smoke)
    cli.refuse_smoke_into_shipped(run_dir, smoke, "--run-dir")
    return RunConfig(models=models, train=train, evaluation=evaluation, data_dir=mnist_root(args.data_dir),
                     out=out, run_dir=run_dir, device=args.device, threads=args.threads,
                     resume=args.resume, evaluate=args.evaluate, download=args.download, smoke=smoke)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; errors a user can cause are printed without a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)

    def body() -> int:
        run(config_from_args(args), argv)
        return 0

    return cli.run_main(body)


if __name__ == "__main__":
    sys.exit(main())
