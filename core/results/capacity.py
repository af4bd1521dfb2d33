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


def _at(net: dict, measure: str, i: int, e: float | None = None) -> float | None:
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


def _mean(group: list[dict], measure: str, i: int, e: float) -> float | None:
    values = [_at(net, measure, i, e) for net in group]
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
                values = [_at(n, measure, i, e) for n in group]
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
                "FGSM accuracy": _at(net, "FGSM", i), "PGD accuracy": _at(net, "PGD", i),
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


# --- sentences ------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _p(net: dict, n: int) -> str:
    return f"h = {net['hidden']:,} (p = {net['param_count']:,}, {net['param_count'] / n:.2g} n)"


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
                    values = [_at(n, measure, i, at) for n in group]
                m, lo, hi = spread(values)
                row.update({f"{label} (mean)": m, f"{label} (min)": lo, f"{label} (max)": hi})
            rows.append(row)
    return rows


def _range(values: list[float]) -> str:
    m, lo, hi = spread(values)
    return _pct(m) if len(values) == 1 or hi - lo < 5e-4 else f"{_pct(m)} ({_pct(lo)}-{_pct(hi)})"


def recipe(doc: dict) -> str:
    """The adversarial-training recipe of the sweep, in words, from its settings."""
    a = doc.get("settings", {}).get("adversarial_training") or {}
    method = {"fgsm_rs": "FGSM with a random start (Wong, Rice and Kolter 2020)",
              "pgd": f"PGD-{a.get('pgd_steps', 10)} (Madry et al. 2018)"}.get(a.get("method"), str(a.get("method")))
    steps = []
    if a.get("warmup_epochs"):
        steps.append(f"{a['warmup_epochs']} clean epoch{'s' if a['warmup_epochs'] > 1 else ''}")
    if a.get("ramp_epochs"):
        steps.append(f"eps rising linearly from 0 to {a.get('eps', 0.1):g} over the first "
                     f"{a['ramp_epochs']} adversarial epochs")
    start = ", ".join(steps) if steps else f"the full eps = {a.get('eps', 0.1):g} from the first step"
    return f"{method}, {start}, {a.get('epochs')} epochs in all"


def findings(doc: dict, eps: float, intrinsic_dim: float | None = None) -> list[str]:
    """What the figure shows at the grid eps nearest eps, as sentences computed from the data.

    Adversarial widths trained with several seeds are read as their mean, with the range over the
    seeds in brackets. intrinsic_dim: MNIST's estimated intrinsic dimension (pretrained/recap),
    which places n * d_eff on the size axis; None leaves that sentence out.
    """
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    n = int(doc.get("n_train", N_TRAIN))
    std, adv = networks(doc, "standard"), networks(doc, "adversarial")
    std_g, adv_g = by_width(doc, "standard"), by_width(doc, "adversarial")
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
    seeds = sorted({len(g) for g in adv_g})
    if adv_g:
        out.append(f"Adversarial training: {recipe(doc)}; "
                   + (f"{seeds[0]} seed{'s' if seeds[0] > 1 else ''} per width" if len(seeds) == 1 else
                      f"{seeds[0]} to {seeds[-1]} seeds per width")
                   + " (a percentage is their mean, the brackets their range).")
    if e == 0:
        out.append("At eps = 0 the attacks do nothing: FGSM and PGD accuracy equal the clean accuracy. "
                   "Move the slider.")
        return out
    for kind, groups in (("standard", std_g), ("adversarial", adv_g)):
        if len(groups) < 2:
            continue
        pgd = [[_at(net, "PGD", i) for net in g] for g in groups]
        means = [float(np.mean(v)) for v in pgd]
        lo, hi = int(np.argmin(means)), int(np.argmax(means))
        first, last = means[0], means[-1]
        trend = ("rises" if last > first + 0.02 else "falls" if last < first - 0.02 else "stays about level")
        out.append(
            f"With {kind} training, PGD accuracy at eps = {e:.3f} {trend} with width: {_range(pgd[0])} at "
            f"h = {groups[0][0]['hidden']:,} and {_range(pgd[-1])} at h = {groups[-1][0]['hidden']:,} (lowest "
            f"{_pct(means[lo])} at h = {groups[lo][0]['hidden']:,}, highest {_pct(means[hi])} at "
            f"h = {groups[hi][0]['hidden']:,})."
        )
    if std_g and adv_g:
        s_by = {g[0]["hidden"]: g for g in std_g}
        pairs = [(g, s_by[g[0]["hidden"]]) for g in adv_g if g[0]["hidden"] in s_by]
        if pairs:
            gains = [(_mean(a, "PGD", i, e) - _mean(s, "PGD", i, e), a[0]["hidden"]) for a, s in pairs]
            best, worst = max(gains), min(gains)
            out.append(
                f"Adversarial training changes PGD accuracy at eps = {e:.3f} by {100 * worst[0]:+.1f} points "
                f"(h = {worst[1]:,}) to {100 * best[0]:+.1f} points (h = {best[1]:,}) over standard training "
                "of the same width."
            )
        a0, a1 = adv_g[0], adv_g[-1]
        out.append(
            f"The price: adversarially trained nets reach "
            f"{_range([n['results']['train_accuracy'] for n in a0])} (h = {a0[0]['hidden']:,}) to "
            f"{_range([n['results']['train_accuracy'] for n in a1])} (h = {a1[0]['hidden']:,}) clean training "
            f"accuracy and {_range([n['results']['test_accuracy'] for n in a0])} to "
            f"{_range([n['results']['test_accuracy'] for n in a1])} clean test accuracy."
        )
        stuck = [g for g in adv_g if np.mean([n["results"]["train_accuracy"] for n in g]) < NOT_LEARNED]
        if stuck:
            widths = ", ".join(f"{g[0]['hidden']:,}" for g in stuck)
            out.append(
                f"At h = {widths} adversarial training did not get off the ground: clean training accuracy "
                f"{', '.join(_range([n['results']['train_accuracy'] for n in g]) for g in stuck)}, about what "
                "predicting one class for every image gives."
            )
        dead = [(float(np.mean([n["results"]["dead_units"] / n["hidden"] for n in g])), g[0]["hidden"])
                for g in adv_g if all(n["results"].get("dead_units") is not None for n in g)]
        if dead:
            worst_dead = max(dead)
            out.append(f"Dead hidden units (never active on any test image) after adversarial training: at most "
                       f"{_pct(worst_dead[0])} of a width's units on average (h = {worst_dead[1]:,}).")
        overfit = sorted({net["hidden"] for net in adv if net["training"].get("catastrophic_overfitting_epoch")})
        out.append("Catastrophic overfitting (PGD accuracy collapsing during FGSM training) was detected "
                   f"at h = {', '.join(map(str, overfit))}; those nets keep their best epoch."
                   if overfit else
                   "No adversarial run showed catastrophic overfitting in its per-epoch PGD check.")
    out += autoattack_findings(doc)
    widest = max(net["param_count"] for net in doc["networks"])
    narrowest = min(net["param_count"] for net in doc["networks"])
    nd = n * INPUT_DIM
    where = (f"lies {nd / widest:.0f} times further right than the widest net, beyond the sweep" if nd > widest
             else f"lies within the sweep (its widest net has p = {widest:,})")
    text = (f"The law's p ≈ nd is a bound for noisily labelled data; MNIST's labels are not noise, so here "
            f"it is a heuristic. With d = {INPUT_DIM} pixels, p = nd = {nd:,} {where}.")
    if intrinsic_dim:
        nd_eff = n * intrinsic_dim
        inside = narrowest <= nd_eff <= widest
        text += (f" With MNIST's intrinsic dimension instead (d_eff ≈ {intrinsic_dim:.2f}, Recap), "
                 f"n·d_eff ≈ {nd_eff:,.0f} lies " + ("inside the sweep" if inside else "outside the sweep")
                 + (f", between h = {max(g['hidden'] for g in std if g['param_count'] <= nd_eff):,} and "
                    f"h = {min(g['hidden'] for g in std if g['param_count'] >= nd_eff):,}" if inside and std else "")
                 + ".")
    out.append(text)
    return out


def autoattack_findings(doc: dict) -> list[str]:
    """AutoAttack against the project's PGD, on the same test images at AutoAttack's eps."""
    measured = [n for n in doc["networks"] if n["kind"] in TRAINING_KINDS and autoattack(n)]
    if not measured:
        return []
    aa = [autoattack(n) for n in measured]
    gaps = [(a["pgd_accuracy"] - a["accuracy"], n) for a, n in zip(aa, measured) if "pgd_accuracy" in a]
    images = sorted({a["n"] for a in aa})
    e = aa[0]["eps"]
    total = sum(1 for n in doc["networks"] if n["kind"] in TRAINING_KINDS)
    which = ("every network of the sweep" if len(measured) == total
             else f"{len(measured)} of the sweep's {total} networks (the others were not kept to attack)")
    out = [f"AutoAttack (APGD-CE, then APGD-T on 9 target classes; Croce and Hein 2020) on "
           f"{images[0]:,} test images at eps = {e:g}, {which}:"]
    if gaps:
        worst = max(gaps, key=lambda g: g[0])
        net = worst[1]
        out[0] += (f" the project's 10-step PGD reports at most {100 * worst[0]:.1f} points more than "
                   f"AutoAttack (h = {net['hidden']:,}, {net['kind']}"
                   + (f", seed {net.get('seed', 0)}" if net["kind"] == "adversarial" else "") + ")")
        out[0] += (", so the PGD curves can be trusted to within that." if worst[0] <= AGREEMENT_POINTS / 100
                   else f", more than {AGREEMENT_POINTS:g} points: read the PGD curves as upper bounds.")
    adv = [(g, [autoattack(n)["accuracy"] for n in g]) for g in by_width(doc, "adversarial")
           if all(autoattack(n) for n in g)]
    if len(adv) >= 2:
        out.append(f"Under AutoAttack the adversarially trained nets keep {_range(adv[0][1])} at "
                   f"h = {adv[0][0][0]['hidden']:,} and {_range(adv[-1][1])} at h = {adv[-1][0][0]['hidden']:,}.")
    return out


def slide_claim(doc: dict, eps: float = 0.1) -> str:
    """The presenter's one-line claim for the closing figure, from the data at eps."""
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    std, adv = by_width(doc, "standard"), by_width(doc, "adversarial")
    if not std or not adv:
        return "Robustness against size: the shipped sweep lacks one of its halves."
    s_best = max(_mean(g, "PGD", i, e) for g in std)
    text = f"Width alone does not make a network robust (at most {_pct(s_best)} under PGD at eps = {e:g}); "
    failed = [g[0]["hidden"] for g in adv if _mean(g, "clean", i, e) < 0.5]
    a0, a1 = _mean(adv[0], "PGD", i, e), _mean(adv[-1], "PGD", i, e)
    if failed:
        return text + f"adversarial training fails at h = {', '.join(map(str, failed))} and needs width."
    return text + (f"adversarial training works at every width, {_pct(a0)} at h = {adv[0][0]['hidden']:,} to "
                   f"{_pct(a1)} at h = {adv[-1][0]['hidden']:,}.")


def figure_caption(doc: dict) -> str:
    """How the closing figure was measured: the attacks, their images, the training recipe."""
    pgd, aa = doc["settings"]["pgd"], doc["settings"].get("autoattack") or {}
    text = (f"Solid: standard training, dashed: adversarial ({recipe(doc)}); a vertical bar spans the "
            f"seeds' range. FGSM on {doc['test_set']['n']:,} test images; PGD ({pgd['steps']} steps, random "
            f"start) on a seeded {pgd['subset_size']:,} of them")
    if aa.get("images"):
        text += (f"; AutoAttack (APGD-CE + APGD-T, {aa['iterations']} iterations each) on a seeded "
                 f"{aa['images']:,}, at eps = {aa['eps']:g} only")
    return text + (f"; training accuracy on the {doc['n_train']:,} training images. Dotted lines: p = n, "
                   "f_n, f_nd and p = nd.")


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
            row += [cell([n["results"]["test_accuracy"] for n in g]), cell([_at(n, "PGD", i) for n in g]),
                    cell([a["accuracy"] for a in aa]) if None not in aa else "n/a"]
        g = adv.get(h) or []
        dead = [n["results"].get("dead_units") for n in g]
        row += [", ".join(str(d) for d in dead) if g and None not in dead else "", str(len(g))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def recipe_rows(doc: dict) -> list[dict]:
    """The recipe comparison on the small widths (training.capacity_recipes), as table rows."""
    comparison = doc.get("recipe_comparison") or {}
    return [{"recipe": r["recipe"], "hidden": r["hidden"], "clean test accuracy": r["test_accuracy"],
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
            row.update({"this sweep: clean (mean)": _mean(g, "clean", i, e),
                        "this sweep: PGD (mean)": _mean(g, "PGD", i, e)})
        rows.append(row)
    return rows


def what_changed(doc: dict) -> str:
    """For anyone who saw the old figure: what the cold start did, and what this sweep does instead."""
    cold = doc.get("cold_start") or {}
    nets = sorted(cold.get("networks", []), key=lambda n: n["hidden"])
    if not nets:
        return ""
    grid = [float(x) for x in (cold.get("grids") or {}).get("eps", [])]
    j = len(grid) - 1
    stuck = [n for n in nets if n["results"]["train_accuracy"] < NOT_LEARNED]
    when = cold.get("source", "an earlier run").split(" (")[0]
    text = (f"**What changed, and why.** The figure shipped before ({when}) trained adversarially at the "
            "full eps from the first step. ")
    if stuck:
        text += (f"At h = {', '.join(str(n['hidden']) for n in stuck)} that never left chance "
                 f"({', '.join(_pct(n['results']['test_accuracy']) for n in stuck)} clean test accuracy), "
                 "which read as \"adversarial training needs width to work\". ")
    rows = (doc.get("recipe_comparison") or {}).get("rows", [])
    cold_rows = [r for r in rows if r["recipe"] == "cold"]
    if cold_rows:
        text += ("It was an artifact of the start: rerun, that recipe left "
                 + ", ".join(f"{r['dead_units']} of {r['hidden']}" for r in cold_rows)
                 + " hidden units dead (never active on any test image). ")
    chosen = (doc.get("recipe_comparison") or {}).get("chosen")
    warm = [r for r in rows if r["recipe"] == chosen]
    if warm:
        text += (f"Ramping eps up instead ({recipe(doc)}), the same widths train: "
                 + ", ".join(f"h = {r['hidden']}: {_pct(r['test_accuracy'])} clean, {_pct(r['pgd_accuracy'])} "
                             f"under PGD, {r['dead_units']} dead" for r in warm)
                 + f" (seed 0; {len({r['recipe'] for r in rows})} recipes compared in the table below). ")
    if grid:
        old_pgd = [n["results"]["pgd"][j]["accuracy"] for n in nets]
        text += (f"The old recipe's numbers are kept below (PGD at eps = {grid[j]:g}: "
                 f"{_pct(min(old_pgd))} to {_pct(max(old_pgd))}); its weights are not.")
    return text


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
