"""The shipped capacity sweep (`pretrained/capacity/`, written by `training.capacity`) as tables.

Reads `results.json` after checking every file of the folder against `manifest.json`, and turns it
into tidy rows for Altair (accuracy against parameter count at one eps), the page's tables and the
README's table. The sentences computed from the same numbers are in `core.results.capacity_text`.
numpy only.
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
# AutoAttack is measured at one eps only (settings.autoattack.eps): the figure shows it there.
MEASURES = ("train", "clean", "FGSM", "PGD", "AutoAttack")
MEASURE_LABELS = {
    "train": "training accuracy (clean)",
    "clean": "test accuracy (clean)",
    "FGSM": "test accuracy under FGSM",
    "PGD": "test accuracy under PGD",
    "AutoAttack": "test accuracy under AutoAttack",
}
AGREEMENT_POINTS = 2.0  # the project's PGD may report at most this many points above AutoAttack
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


def autoattack(net: dict) -> dict | None:
    """The network's AutoAttack record (training.autoattack), or None where it was not measured."""
    aa = net["results"].get("autoattack")
    return aa if isinstance(aa, dict) and "accuracy" in aa else None


def accuracy_at(net: dict, measure: str, i: int, e: float | None = None) -> float | None:
    """The network's accuracy of one measure at grid index i (AutoAttack: only at its own eps e)."""
    res = net["results"]
    if measure == "train":
        return float(res["train_accuracy"])
    if measure == "clean":
        return float(res["test_accuracy"])
    if measure == "AutoAttack":
        aa = autoattack(net)
        return float(aa["accuracy"]) if aa and e is not None and abs(aa["eps"] - e) < 1e-9 else None
    return float(res[measure.lower()][i]["accuracy"])


def by_width(doc: dict, kind: str) -> list[list[dict]]:
    """The networks of one training kind grouped by width (one per seed), by increasing width."""
    groups: dict[int, list[dict]] = {}
    for net in networks(doc, kind):
        groups.setdefault(net["hidden"], []).append(net)
    return [sorted(g, key=lambda n: n.get("seed", 0)) for _, g in sorted(groups.items())]


def spread(values: list[float]) -> tuple[float, float, float]:
    """(mean, min, max) of one measure over a width's seeds."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.min()), float(v.max())


def mean_accuracy(group: list[dict], measure: str, i: int, e: float) -> float | None:
    values = [accuracy_at(net, measure, i, e) for net in group]
    return None if any(v is None for v in values) else float(np.mean(values))


def sweep_rows(doc: dict, eps: float) -> list[dict]:
    """Tidy rows for the figure: one per (training kind, width, measure) at the grid eps nearest eps,
    the mean over the width's seeds with its min and max ("low", "high")."""
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    rows = []
    for kind in TRAINING_KINDS:
        for group in by_width(doc, kind):
            net = group[0]
            for measure in MEASURES:
                values = [accuracy_at(n, measure, i, e) for n in group]
                if any(v is None for v in values):
                    continue
                mean, low, high = spread(values)
                rows.append({
                    "training": kind, "hidden": net["hidden"], "parameters": net["param_count"],
                    "p / n": net["param_count"] / doc.get("n_train", N_TRAIN),
                    "measure": MEASURE_LABELS[measure], "accuracy": mean, "low": low, "high": high,
                    "seeds": len(group), "eps": e,
                })
    return rows


def network_rows(doc: dict, eps: float) -> list[dict]:
    """One row per network of the sweep at the grid eps nearest eps (the page's table and CSV)."""
    i = eps_index(doc, eps)
    rows = []
    for kind in TRAINING_KINDS:
        for net in networks(doc, kind):
            t, r = net["training"], net["results"]
            aa = autoattack(net)
            rows.append({
                "training": kind, "hidden": net["hidden"], "seed": net.get("seed", 0),
                "parameters": net["param_count"],
                "model": net.get("model"), "epochs": t.get("epochs"),
                "memorization rule met": t.get("rule_met") if kind == "standard" else None,
                "train accuracy": r["train_accuracy"], "train loss": r["train_loss"],
                "test accuracy": r["test_accuracy"], "test loss": r["test_loss"],
                "FGSM accuracy": accuracy_at(net, "FGSM", i), "PGD accuracy": accuracy_at(net, "PGD", i),
                "dead hidden units": r.get("dead_units"),
                "AutoAttack accuracy": aa["accuracy"] if aa else None,
                "PGD on AutoAttack's images": aa.get("pgd_accuracy") if aa else None,
                "AutoAttack eps": aa["eps"] if aa else None,
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


# --- tables of the sweep's summaries ----------------------------------------------------------


def summary_rows(doc: dict, eps: float) -> list[dict]:
    """One row per (training kind, width): mean and range over seeds of dead units, clean test
    accuracy, FGSM and PGD at the grid eps nearest eps, and AutoAttack at its own eps."""
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    rows = []
    for kind in TRAINING_KINDS:
        for group in by_width(doc, kind):
            row = {"training": kind, "hidden": group[0]["hidden"], "parameters": group[0]["param_count"],
                   "seeds": len(group)}
            dead = [n["results"].get("dead_units") for n in group]
            if None not in dead:
                m, lo, hi = spread([d / n["hidden"] for d, n in zip(dead, group)])
                row.update({"dead units (mean)": m, "dead units (min)": lo, "dead units (max)": hi})
            for label, measure, at in (("clean", "clean", e), ("FGSM", "FGSM", e), ("PGD", "PGD", e),
                                       ("AutoAttack", "AutoAttack", None)):
                if measure == "AutoAttack":
                    aas = [autoattack(n) for n in group]
                    if None in aas:
                        continue
                    values = [a["accuracy"] for a in aas]
                else:
                    values = [accuracy_at(n, measure, i, at) for n in group]
                m, lo, hi = spread(values)
                row.update({f"{label} (mean)": m, f"{label} (min)": lo, f"{label} (max)": hi})
            rows.append(row)
    return rows


def readme_table(doc: dict, eps: float = 0.1) -> str:
    """The sweep at eps as the README's Markdown table (a test keeps the README equal to it).

    Adversarial columns: mean over the width's seeds, with the range in brackets where the seeds
    differ; AutoAttack at its own eps; dead units: hidden units never active on a test image.
    """
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]

    def cell(values: list[float], digits: int = 3) -> str:
        m, lo, hi = spread(values)
        return f"{m:.{digits}f}" if hi - lo < 0.5 * 10 ** -digits else f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"

    lines = [f"| h | parameters | standard: test acc | PGD {e:g} | AutoAttack | adversarial: test acc | "
             f"PGD {e:g} | AutoAttack | dead units | seeds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    std = {g[0]["hidden"]: g for g in by_width(doc, "standard")}
    adv = {g[0]["hidden"]: g for g in by_width(doc, "adversarial")}
    for h in sorted(set(std) | set(adv)):
        row = [str(h), f"{(std.get(h) or adv[h])[0]['param_count']:,}"]
        for g in (std.get(h), adv.get(h)):
            if g is None:
                row += ["", "", ""]
                continue
            aa = [autoattack(n) for n in g]
            row += [cell([n["results"]["test_accuracy"] for n in g]), cell([accuracy_at(n, "PGD", i) for n in g]),
                    cell([a["accuracy"] for a in aa]) if None not in aa else "n/a"]
        g = adv.get(h) or []
        dead = [n["results"].get("dead_units") for n in g]
        row += [", ".join(str(d) for d in dead) if g and None not in dead else "", str(len(g))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def recipe_label(config: dict) -> str:
    """A recipe of the comparison in words, from its config ("1 clean epoch then a 2-epoch eps ramp")."""
    w, r = config.get("warmup_epochs") or 0, config.get("ramp_epochs") or 0
    parts = ([f"{w} clean epoch{'s' if w > 1 else ''}"] if w else []) + ([f"a {r}-epoch eps ramp"] if r else [])
    start = " then ".join(parts) if parts else "the full eps from the first step"
    return ("PGD training, " if config.get("method") == "pgd" else "") + start


def recipe_rows(doc: dict) -> list[dict]:
    """The recipe comparison on the small widths (training.capacity_recipes), as table rows."""
    comparison = doc.get("recipe_comparison") or {}
    return [{"recipe": r["recipe"], "what it does": recipe_label(r.get("config") or {}), "hidden": r["hidden"],
             "clean test accuracy": r["test_accuracy"],
             "PGD accuracy": r["pgd_accuracy"], "eps": r["pgd_eps"],
             "dead hidden units": f"{r['dead_units']} of {r['hidden']}"} for r in comparison.get("rows", [])]


def cold_start_rows(doc: dict, eps: float) -> list[dict]:
    """The recipe shipped before (full eps from the first step) beside this sweep, width by width."""
    cold = doc.get("cold_start") or {}
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    now = {g[0]["hidden"]: g for g in by_width(doc, "adversarial")}
    rows = []
    for net in sorted(cold.get("networks", []), key=lambda n: n["hidden"]):
        old_grid = [float(x) for x in (cold.get("grids") or {}).get("eps", [])]
        j = int(np.argmin(np.abs(np.asarray(old_grid) - e))) if old_grid else i
        row = {"hidden": net["hidden"], "cold start: clean": net["results"]["test_accuracy"],
               "cold start: PGD": net["results"]["pgd"][j]["accuracy"]}
        g = now.get(net["hidden"])
        if g:
            row.update({"this sweep: clean (mean)": mean_accuracy(g, "clean", i, e),
                        "this sweep: PGD (mean)": mean_accuracy(g, "PGD", i, e)})
        rows.append(row)
    return rows


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
