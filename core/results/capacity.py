"""The shipped capacity sweep (`pretrained/capacity/`, written by `training.capacity`) as tables.

Reads `results.json` after checking every file of the folder against `manifest.json`, and turns it
into tidy rows for Altair (accuracy against parameter count at one eps) and into the sentences the
page shows, each computed from the numbers, whatever they turn out to be. numpy only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import core.results.pretrained as pretrained
from core.errors import InputError
from core.results.pretrained import PretrainedError, fixes, read_verified_json, verified_path
from core.specs import MNIST_MODELS

CAPACITY_SUBDIR = "capacity"
RESULTS_FILE = "results.json"
MANIFEST_FILE = "manifest.json"
REGENERATE_CAPACITY = "python -m training.capacity --data-dir <MNIST root> --out pretrained"
N_TRAIN = 60_000
INPUT_DIM = 784
TRAINING_KINDS = ("standard", "adversarial")
# What the figure plots at one eps, in legend order; "train" is the clean training accuracy.
MEASURES = ("train", "clean", "FGSM", "PGD")
MEASURE_LABELS = {
    "train": "training accuracy (clean)",
    "clean": "test accuracy (clean)",
    "FGSM": "test accuracy under FGSM",
    "PGD": "test accuracy under PGD",
}
MEMORIZED = 1.0  # training accuracy of a net that fits every training image
NOT_LEARNED = 0.2  # below this clean training accuracy a net learned next to nothing (chance: ~0.1)
# The two training lengths of the talk models: the shipped run, and the rerun past its rule.
SHORT_LABEL = "shipped: stopped at loss 1e-3"
LONG_LABEL = "rerun towards loss 0"


def capacity_dir(root: Path | str | None = None) -> Path:
    return Path(root or pretrained.PRETRAINED_DIR) / CAPACITY_SUBDIR


def load_capacity_results(root: Path | str | None = None) -> dict:
    """results.json of the sweep, after checking it against the folder's manifest.json."""
    folder = capacity_dir(root)
    doc = read_verified_json(folder, RESULTS_FILE, REGENERATE_CAPACITY)
    try:
        networks, grid = doc["networks"], doc["grids"]["eps"]
        for net in networks:
            net["results"]["fgsm"], net["results"]["pgd"], net["param_count"], net["kind"]
    except (KeyError, TypeError):
        raise PretrainedError(f"{folder / RESULTS_FILE} lacks networks or grids. "
                              f"{fixes(folder, REGENERATE_CAPACITY)}") from None
    if not networks or not grid:
        raise PretrainedError(f"{folder / RESULTS_FILE} holds no networks. {fixes(folder, REGENERATE_CAPACITY)}")
    return doc


def eps_grid(doc: dict) -> list[float]:
    return [float(e) for e in doc["grids"]["eps"]]


def eps_index(doc: dict, eps: float) -> int:
    """Index of the grid value nearest eps (the slider's values are rounded)."""
    grid = np.asarray(eps_grid(doc))
    if not np.isfinite(eps):
        raise InputError(f"eps must be a number, got {eps!r}")
    return int(np.argmin(np.abs(grid - float(eps))))


def networks(doc: dict, kind: str) -> list[dict]:
    """The sweep's networks of one training kind (standard or adversarial), by increasing width."""
    return sorted((n for n in doc["networks"] if n["kind"] == kind), key=lambda n: n["hidden"])


def _at(net: dict, measure: str, i: int) -> float:
    res = net["results"]
    if measure == "train":
        return float(res["train_accuracy"])
    if measure == "clean":
        return float(res["test_accuracy"])
    return float(res[measure.lower()][i]["accuracy"])


def sweep_rows(doc: dict, eps: float) -> list[dict]:
    """Tidy rows for the figure: one per (training kind, width, measure) at the grid eps nearest eps."""
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    rows = []
    for kind in TRAINING_KINDS:
        for net in networks(doc, kind):
            for measure in MEASURES:
                rows.append({
                    "training": kind, "hidden": net["hidden"], "parameters": net["param_count"],
                    "p / n": net["param_count"] / doc.get("n_train", N_TRAIN),
                    "measure": MEASURE_LABELS[measure], "accuracy": _at(net, measure, i), "eps": e,
                })
    return rows


def network_rows(doc: dict, eps: float) -> list[dict]:
    """One row per network of the sweep at the grid eps nearest eps (the page's table and CSV)."""
    i = eps_index(doc, eps)
    rows = []
    for kind in TRAINING_KINDS:
        for net in networks(doc, kind):
            t, r = net["training"], net["results"]
            rows.append({
                "training": kind, "hidden": net["hidden"], "parameters": net["param_count"],
                "model": net.get("model"), "epochs": t.get("epochs"),
                "memorization rule met": t.get("rule_met") if kind == "standard" else None,
                "train accuracy": r["train_accuracy"], "train loss": r["train_loss"],
                "test accuracy": r["test_accuracy"], "test loss": r["test_loss"],
                "FGSM accuracy": _at(net, "FGSM", i), "PGD accuracy": _at(net, "PGD", i),
                "max gradient norm": r["max_gradient_norm"], "eps": eps_grid(doc)[i],
                "wall s": t.get("wall_s"), "device": t.get("device"),
            })
    return rows


def zero_loss_rows(doc: dict) -> list[dict]:
    """The talk models trained to the lower loss target beside their standard (shipped) runs."""
    rows = []
    by_name = {n["name"]: n for n in doc["networks"]}
    for name, spec in MNIST_MODELS.items():
        long = by_name.get(f"zero_loss_{name}")
        short = by_name.get(f"standard_h{spec.hidden}")
        for label, net in ((SHORT_LABEL, short), (LONG_LABEL, long)):
            if net is None:
                continue
            t, r = net["training"], net["results"]
            rows.append({
                "model": name, "training length": label, "epochs": t.get("epochs"),
                "target loss": (t.get("config") or {}).get("target_loss"), "rule met": t.get("rule_met"),
                "train loss": r["train_loss"], "train accuracy": r["train_accuracy"],
                "test loss": r["test_loss"], "test accuracy": r["test_accuracy"],
                "max gradient norm": r["max_gradient_norm"],
            })
    return rows


def zero_loss_curves(doc: dict) -> list[dict]:
    """FGSM and PGD accuracy against eps of the talk models, at both training lengths."""
    rows = []
    by_name = {n["name"]: n for n in doc["networks"]}
    for name, spec in MNIST_MODELS.items():
        for label, key in ((SHORT_LABEL, f"standard_h{spec.hidden}"),
                           (LONG_LABEL, f"zero_loss_{name}")):
            net = by_name.get(key)
            if net is None:
                continue
            for attack in ("fgsm", "pgd"):
                for point in net["results"][attack]:
                    rows.append({"model": spec.label, "name": name, "training length": label,
                                 "attack": attack.upper(), "eps": point["eps"], "accuracy": point["accuracy"]})
    return rows


# --- sentences ------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _p(net: dict, n: int) -> str:
    return f"h = {net['hidden']:,} (p = {net['param_count']:,}, {net['param_count'] / n:.2g} n)"


def findings(doc: dict, eps: float) -> list[str]:
    """What the figure shows at the grid eps nearest eps, as sentences computed from the data."""
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    n = int(doc.get("n_train", N_TRAIN))
    std, adv = networks(doc, "standard"), networks(doc, "adversarial")
    out = []
    if std:
        fits = [net["results"]["train_accuracy"] >= MEMORIZED for net in std]
        # The threshold: the narrowest width from which every wider net fits too.
        k = len(fits)
        while k > 0 and fits[k - 1]:
            k -= 1
        if k < len(fits):
            first = std[k]
            below = std[:k]
            text = f"Standard training fits every training image from {_p(first, n)} on"
            short = [net for net, f in zip(below, fits) if not f]
            if short:
                accs = [net["results"]["train_accuracy"] for net in short]
                span = _pct(accs[0]) if len(accs) == 1 else f"{_pct(min(accs))} to {_pct(max(accs))}"
                who = "the narrower net stops" if len(short) == 1 else f"the {len(short)} narrower nets stop"
                text += (f"; {who}"
                         f" short at {span} training accuracy (the memorization threshold)")
            odd = [net for net, f in zip(below, fits) if f]
            if odd:
                widths = ", ".join(str(net["hidden"]) for net in odd)
                text += f" (h = {widths} also fit{'s' if len(odd) == 1 else ''} it)"
            out.append(text + ".")
        else:
            out.append(f"No width up to h = {std[-1]['hidden']:,} fits every training image with standard "
                       f"training (best: {_pct(max(net['results']['train_accuracy'] for net in std))}).")
    if e == 0:
        out.append("At eps = 0 the attacks do nothing: FGSM and PGD accuracy equal the clean accuracy. "
                   "Move the slider.")
        return out
    for kind, nets in (("standard", std), ("adversarial", adv)):
        if len(nets) < 2:
            continue
        pgd = [_at(net, "PGD", i) for net in nets]
        lo, hi = int(np.argmin(pgd)), int(np.argmax(pgd))
        first, last = pgd[0], pgd[-1]
        trend = ("rises" if last > first + 0.02 else "falls" if last < first - 0.02 else "stays about level")
        out.append(
            f"With {kind} training, PGD accuracy at eps = {e:.3f} {trend} with width: {_pct(first)} at "
            f"h = {nets[0]['hidden']:,} and {_pct(last)} at h = {nets[-1]['hidden']:,} (lowest {_pct(pgd[lo])} "
            f"at h = {nets[lo]['hidden']:,}, highest {_pct(pgd[hi])} at h = {nets[hi]['hidden']:,})."
        )
    if std and adv:
        s_by = {net["hidden"]: net for net in std}
        pairs = [(net, s_by[net["hidden"]]) for net in adv if net["hidden"] in s_by]
        if pairs:
            gains = [(_at(a, "PGD", i) - _at(s, "PGD", i), a["hidden"]) for a, s in pairs]
            best = max(gains)
            worst = min(gains)
            out.append(
                f"Adversarial training changes PGD accuracy at eps = {e:.3f} by {100 * worst[0]:+.1f} points "
                f"(h = {worst[1]:,}) to {100 * best[0]:+.1f} points (h = {best[1]:,}) over standard training "
                "of the same width."
            )
        clean = [(net["results"]["train_accuracy"], net["results"]["test_accuracy"], net) for net in adv]
        a0, a1 = clean[0], clean[-1]
        out.append(
            f"The price: adversarially trained nets reach {_pct(a0[0])} (h = {a0[2]['hidden']:,}) to "
            f"{_pct(a1[0])} (h = {a1[2]['hidden']:,}) clean training accuracy and {_pct(a0[1])} to "
            f"{_pct(a1[1])} clean test accuracy."
        )
        stuck = [net for net in adv if net["results"]["train_accuracy"] < NOT_LEARNED]
        if stuck:
            widths = ", ".join(f"{net['hidden']:,}" for net in stuck)
            out.append(
                f"At h = {widths} adversarial training did not get off the ground: clean training accuracy "
                f"{', '.join(_pct(net['results']['train_accuracy']) for net in stuck)}, about what "
                "predicting one class for every image gives (a net too small to fit the data robustly, "
                "as Madry et al. saw on MNIST)."
            )
        overfit = [net["hidden"] for net in adv if net["training"].get("catastrophic_overfitting_epoch")]
        out.append("Catastrophic overfitting (PGD accuracy collapsing during FGSM training) was detected "
                   f"at h = {', '.join(map(str, overfit))}; those nets keep their best epoch."
                   if overfit else
                   "No adversarial run showed catastrophic overfitting in its per-epoch PGD check.")
    widest = max(net["param_count"] for net in doc["networks"])
    nd = n * INPUT_DIM
    if nd > widest:
        out.append(f"The widest net has p = {widest:,} parameters: p = nd = {nd:,}, the size the law of "
                   f"robustness asks for, lies {nd / widest:.0f} times further right, beyond the sweep.")
    else:
        out.append(f"Here p = nd = {nd:,} lies within the sweep (its widest net has p = {widest:,}).")
    return out


def zero_loss_findings(doc: dict, talk_losses: dict[str, float], eps: float) -> list[str]:
    """One sentence per talk model: what training on towards zero loss changed, from the data.

    talk_losses: the talk's test loss of each model ({"f_n": 0.211, ...}), quoted beside ours.
    """
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    by_name = {n["name"]: n for n in doc["networks"]}
    out = []
    for name, spec in MNIST_MODELS.items():
        short, long = by_name.get(f"standard_h{spec.hidden}"), by_name.get(f"zero_loss_{name}")
        if short is None or long is None:
            continue
        s, z, t = short["results"], long["results"], long["training"]
        cap = (t.get("config") or {}).get("max_epochs")
        target = (t.get("config") or {}).get("target_loss")
        reached = (f"reached the target {target:g} after {t['epochs']} epochs" if t.get("rule_met")
                   else f"did not reach the target {target:g} within its cap of {cap} epochs")
        talk = talk_losses.get(name)
        out.append(
            f"{name} rerun ({reached}, against {short['training']['epochs']} epochs for the shipped "
            f"model): training loss {s['train_loss']:.1e} → {z['train_loss']:.1e}, test loss "
            f"{s['test_loss']:.3f} → {z['test_loss']:.3f}" + (f" (the talk: {talk:.3f})" if talk else "")
            + f", test accuracy {_pct(s['test_accuracy'])} → {_pct(z['test_accuracy'])}, FGSM accuracy at "
            f"eps = {e:.3f} {_pct(_at(short, 'FGSM', i))} → {_pct(_at(long, 'FGSM', i))}, PGD "
            f"{_pct(_at(short, 'PGD', i))} → {_pct(_at(long, 'PGD', i))}."
        )
    return out


# --- the adversarially trained talk models ----------------------------------------------------

ADV_SUFFIX = "_adv"


def adversarial_name(base: str) -> str:
    """File stem of the adversarially trained version of a talk model ("f_n" -> "f_n_adv")."""
    if base not in MNIST_MODELS:
        raise InputError(f"no adversarially trained version of {base!r}: choose one of "
                         f"{', '.join(MNIST_MODELS)}")
    return base + ADV_SUFFIX


def adversarial_metadata(base: str, root: Path | str | None = None) -> dict:
    """Metadata of the adversarially trained f_n / f_nd, its files checked against the manifest."""
    folder = capacity_dir(root)
    name = adversarial_name(base)
    for suffix in (".onnx", ".safetensors"):
        verified_path(folder, name + suffix, REGENERATE_CAPACITY)
    return read_verified_json(folder, f"{name}.json", REGENERATE_CAPACITY)
