"""The capacity sweep's sentences: what the page, its slide, its caption and the README say, each
computed from the shipped `results.json` (read by `core.results.capacity`), whatever the numbers are.

Split from `core.results.capacity`, which reads the folder and builds the tables. numpy only.
"""

from __future__ import annotations

import re

import numpy as np

from core.results.capacity import (
    AGREEMENT_POINTS,
    INPUT_DIM,
    MEMORIZED,
    N_TRAIN,
    NOT_LEARNED,
    TRAINING_KINDS,
    accuracy_at,
    autoattack,
    by_width,
    eps_grid,
    eps_index,
    mean_accuracy,
    networks,
    recipe_label,
    spread,
)
from core.specs import MNIST_MODELS


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _p(net: dict, n: int) -> str:
    return f"h = {net['hidden']:,} (p = {net['param_count']:,}, {net['param_count'] / n:.2g} n)"


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
        pgd = [[accuracy_at(net, "PGD", i) for net in g] for g in groups]
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
            gains = [(mean_accuracy(a, "PGD", i, e) - mean_accuracy(s, "PGD", i, e), a[0]["hidden"]) for a, s in pairs]
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
        if worst[0] <= AGREEMENT_POINTS / 100:
            out[0] += ", so the PGD curves can be trusted to within that."
        else:
            over = sorted({(n["kind"], n["hidden"]) for g, n in gaps if g > AGREEMENT_POINTS / 100})
            where = "; ".join(f"h = {', '.join(str(h) for k, h in over if k == kind)}, {kind}"
                              for kind in TRAINING_KINDS if any(k == kind for k, _ in over))
            out[0] += (f": more than {AGREEMENT_POINTS:g} points at {where}, within {AGREEMENT_POINTS:g} points "
                       "for every other network. Read the PGD curves there as upper bounds.")
        ce = [a["pgd_accuracy"] - a["after_apgd_ce"] for a in aa if "pgd_accuracy" in a and "after_apgd_ce" in a]
        if ce and worst[0] > 0:
            out[0] += (f" APGD-CE alone, which like PGD follows the cross-entropy, leaves at most "
                       f"{100 * max(ce):.1f} points less than PGD: the rest is found by the targeted APGD-T, "
                       "which uses another loss (the difference of logits ratio).")
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
    # The strongest attack measured at this eps: AutoAttack where every network has it, else PGD.
    attack = "AutoAttack" if all(mean_accuracy(g, "AutoAttack", i, e) is not None for g in std + adv) else "PGD"
    s_best = max(mean_accuracy(g, attack, i, e) for g in std)
    text = f"Width alone does not make a network robust (at most {_pct(s_best)} under {attack} at eps = {e:g}); "
    failed = [g[0]["hidden"] for g in adv if mean_accuracy(g, "clean", i, e) < 0.5]
    a0, a1 = mean_accuracy(adv[0], attack, i, e), mean_accuracy(adv[-1], attack, i, e)
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


def what_changed(doc: dict) -> str:
    """For anyone who saw the old figure: what the cold start did, and what this sweep does instead."""
    cold = doc.get("cold_start") or {}
    nets = sorted(cold.get("networks", []), key=lambda n: n["hidden"])
    if not nets:
        return ""
    grid = [float(x) for x in (cold.get("grids") or {}).get("eps", [])]
    j = len(grid) - 1
    stuck = [n for n in nets if n["results"]["train_accuracy"] < NOT_LEARNED]
    when = re.sub(r"T[0-9:]+(\+00:00)?", "", cold.get("source", "an earlier run").split(" (")[0])
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
                 + f" (seed 0; {len({r['recipe'] for r in rows})} recipes compared). ")
    if grid:
        old_pgd = [n["results"]["pgd"][j]["accuracy"] for n in nets]
        text += (f"The old recipe's numbers are kept in results.json (PGD at eps = {grid[j]:g}: "
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
            f"eps = {e:.3f} {_pct(accuracy_at(short, 'FGSM', i))} → {_pct(accuracy_at(long, 'FGSM', i))}, PGD "
            f"{_pct(accuracy_at(short, 'PGD', i))} → {_pct(accuracy_at(long, 'PGD', i))}."
        )
    return out


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def sweep_sentence(doc: dict) -> str:
    """Where and how long this sweep's networks trained and were attacked (results.json "sweep")."""
    sweep = doc.get("sweep") or {}
    if not sweep.get("trained_networks"):
        return ""
    text = (f"The {sweep['trained_networks']} networks trained for this sweep took "
            f"{_hours(sweep['training_wall_s_sum'])} of training")
    attacked = sum(1 for n in doc.get("networks", []) if "seconds" in (autoattack(n) or {}))
    if sweep.get("autoattack_wall_s_sum") and attacked:
        text += f", and AutoAttack on {attacked} networks took {_hours(sweep['autoattack_wall_s_sum'])}"
    text += f", summed over networks, on {' and '.join(sweep['devices'])}"
    if sweep.get("last_training_finished"):
        text += f"; the last finished training on {sweep['last_training_finished'][:10]}"
    return text + "."


def recipe_choice(doc: dict) -> str:
    """Why the sweep's recipe: the recipe comparison (training.capacity_recipes) read width by width.

    "Eased-in" recipes are those with clean warm-up epochs or an eps ramp; the cold ones start at
    the full eps. Empty without a comparison.
    """
    comparison = doc.get("recipe_comparison") or {}
    rows, chosen = comparison.get("rows") or [], comparison.get("chosen")
    config = {r["recipe"]: r.get("config") or {} for r in rows}
    eased = [r for r in rows if config[r["recipe"]].get("warmup_epochs") or config[r["recipe"]].get("ramp_epochs")]
    mine = {r["hidden"]: r for r in rows if r["recipe"] == chosen}
    if not eased or not mine:
        return ""
    widths = sorted(mine)
    by_width = {h: [r for r in eased if r["hidden"] == h] for h in widths}
    spreads = [max(r["pgd_accuracy"] for r in g) - min(r["pgd_accuracy"] for r in g) for g in by_width.values()]
    names = list(dict.fromkeys(recipe_label(config[r["recipe"]]) for r in eased))
    text = (f"The {len(names)} recipes that ease in ({'; '.join(names)}) all train every width compared, "
            "to PGD accuracies of "
            + ", ".join(f"{_pct(min(r['pgd_accuracy'] for r in g))} to {_pct(max(r['pgd_accuracy'] for r in g))} "
                        f"at h = {h}" for h, g in by_width.items())
            + f": at most {100 * max(spreads):.1f} points apart at one width (one seed each, so gaps this "
              "small do not rank them). ")
    gaps = {h: max(r["pgd_accuracy"] for r in by_width[h]) - mine[h]["pgd_accuracy"] for h in widths}
    best = [h for h in widths if gaps[h] <= 0]
    others = [h for h in widths if gaps[h] > 0]
    text += f"The sweep uses {recipe_label(config[chosen])}: "
    if best:
        text += f"the best of them at h = {', '.join(map(str, best))}"
    if others:
        text += ("" if not best else ", ") + (f"within {100 * max(gaps[h] for h in others):.1f} points of the best "
                                               f"at h = {', '.join(map(str, others))}")
    if not config[chosen].get("warmup_epochs"):
        text += f"; with no clean epoch, all {config[chosen].get('epochs')} epochs train against the attack"
    text += "."
    pgd_cold = sorted((r for r in rows if r["recipe"] == "pgd_cold"), key=lambda r: r["hidden"])
    if pgd_cold:
        text += (" PGD training from the same cold start is no cure: "
                 + ", ".join(f"{_pct(r['test_accuracy'])} clean accuracy with {r['dead_units']} of "
                             f"{r['hidden']} units dead at h = {r['hidden']}" for r in pgd_cold) + ".")
    return text


def slide_caption(doc: dict) -> str:
    """The closing slide's one line on how the figure was made: the recipe, the seeds, the attacks
    and their test images."""
    settings = doc.get("settings") or {}
    a = settings.get("adversarial_training") or {}
    method = {"fgsm_rs": "FGSM with a random start", "pgd": "PGD"}.get(a.get("method"), str(a.get("method")))
    seeds = len(settings.get("adversarial_seeds") or [0])
    text = (f"Dashed: adversarial training, {method} and {recipe_label(a)}, {seeds} seed{'s' if seeds > 1 else ''} "
            f"per width. PGD ({settings['pgd']['steps']} steps) on {settings['pgd']['subset_size']:,} test images")
    aa = settings.get("autoattack") or {}
    return text + (f", AutoAttack on {aa['images']:,}." if aa.get("images") else ".")
