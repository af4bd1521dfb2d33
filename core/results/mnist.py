"""The shipped MNIST results as tables and the few numbers the app's text quotes.

Reads the dicts `core.results.pretrained` loads (a model's metadata JSON, `sweeps.json`; schema in
`training.mnist`) and turns them into tidy rows for Altair and into summary numbers (accuracy at a
budget, median flipping eps, gradient-norm ratios), so the pages only draw and every sentence they
show is computed from the shipped data. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.results.capacity import LONG_LABEL, SHORT_LABEL
from core.results.pretrained import REGENERATE_MNIST, PretrainedError
from core.specs import MNIST_MODELS

# The talk's clean test numbers (slides), shown beside the shipped ones: (accuracy, loss).
TALK_CLEAN: dict[str, tuple[float, float]] = {"f_nd": (0.985, 0.587), "f_n": (0.980, 0.211)}

SWEEP_KINDS = ("fgsm", "pgd", "noise")


def _model_entry(sweeps: dict, name: str) -> dict:
    try:
        return sweeps["models"][name]
    except (KeyError, TypeError):
        raise PretrainedError(
            f"sweeps.json has no results for model {name!r}: regenerate it with `{REGENERATE_MNIST}`"
        ) from None


def _number(value) -> float:
    """A metadata number, NaN where it is absent (older files lack some training fields)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def clean_rows(metadata: dict[str, dict]) -> list[dict]:
    """One row per model: how well it fits its training set, its test accuracy and loss, the talk's.

    Args: metadata maps a model name to its metadata JSON (`core.results.pretrained.model_metadata`).
    """
    rows = []
    for name, meta in metadata.items():
        spec = MNIST_MODELS[name]
        try:
            res = meta["results"]
            acc, loss, n = float(res["test_accuracy"]), float(res["test_loss"]), int(res["n_test"])
        except (KeyError, TypeError, ValueError):
            raise PretrainedError(
                f"the metadata of {name} lacks its test results: regenerate it with `{REGENERATE_MNIST}`"
            ) from None
        talk_acc, talk_loss = TALK_CLEAN.get(name, (float("nan"), float("nan")))
        training = meta.get("training") or {}
        rows.append({
            "model": spec.label, "parameters": spec.param_count,
            "train accuracy": _number(training.get("final_train_accuracy")),
            "train loss": _number(training.get("final_train_loss")),
            "test accuracy": acc, "test loss": loss, "talk accuracy": talk_acc, "talk loss": talk_loss,
            "test images": n,
        })
    return rows


def curve_rows(sweeps: dict, kind: str) -> list[dict]:
    """Tidy rows {model, name, eps, accuracy, accuracy_std, n} of one sweep for every model.

    kind: "fgsm", "pgd" (eps = L-inf budget) or "noise" (eps = noise std).
    """
    if kind not in SWEEP_KINDS:
        raise InputError(f"kind must be one of {SWEEP_KINDS}, got {kind!r}")
    rows = []
    for name, spec in MNIST_MODELS.items():
        entry = _model_entry(sweeps, name)
        for r in entry.get(kind, []):
            rows.append({"model": spec.label, "name": name, "eps": float(r["eps"]),
                         "accuracy": float(r["accuracy"]), "accuracy_std": float(r.get("accuracy_std", 0.0)),
                         "n": int(r.get("n", 0))})
    if not rows:
        raise PretrainedError(f"sweeps.json holds no {kind} sweep: regenerate it with `{REGENERATE_MNIST}`")
    return rows


def accuracy_at(sweeps: dict, name: str, kind: str, eps: float) -> tuple[float, float]:
    """(grid eps nearest to eps, accuracy there) of one model's sweep."""
    results = _model_entry(sweeps, name).get(kind) or []
    if not results:
        raise PretrainedError(f"sweeps.json holds no {kind} sweep for {name}: regenerate it with `{REGENERATE_MNIST}`")
    best = min(results, key=lambda r: abs(float(r["eps"]) - eps))
    return float(best["eps"]), float(best["accuracy"])


@dataclass(frozen=True)
class FlipDistribution:
    """The smallest flipping FGSM eps over the evaluated test images of one model.

    grid: eps values scanned. counts: images first flipped at each. never: images no eps on the
    grid flips. n: images in all.
    """

    grid: np.ndarray
    counts: np.ndarray
    never: int
    n: int

    def cdf(self) -> np.ndarray:
        """Fraction of all n images flipped at eps <= grid[i] (ends at 1 - never / n)."""
        return np.cumsum(self.counts) / self.n

    def quantile(self, q: float) -> float:
        """The smallest grid eps flipping at least a fraction q of the images (inf if none on the grid)."""
        hit = np.flatnonzero(self.cdf() >= q - 1e-12)
        return float(self.grid[hit[0]]) if hit.size else float("inf")


def flip_distribution(sweeps: dict, name: str) -> FlipDistribution:
    """The shipped `flip_eps` summary of one model as a `FlipDistribution`."""
    flip = _model_entry(sweeps, name).get("flip_eps")
    try:
        grid = np.asarray(flip["grid"], dtype=np.float64)
        counts = np.asarray(flip["counts"], dtype=np.int64)
        never, n = int(flip["never"]), int(flip["n"])
    except (KeyError, TypeError, ValueError):
        raise PretrainedError(
            f"sweeps.json lacks the flip-eps data of {name}: regenerate it with `{REGENERATE_MNIST}`"
        ) from None
    if grid.shape != counts.shape or n < 1 or counts.sum() + never != n:
        raise PretrainedError(
            f"the flip-eps data of {name} in sweeps.json is inconsistent: regenerate it with `{REGENERATE_MNIST}`"
        )
    return FlipDistribution(grid=grid, counts=counts, never=never, n=n)


def ecdf_rows(sweeps: dict) -> list[dict]:
    """Tidy rows {model, eps, flipped} of every model's flip CDF, for a step chart."""
    rows = []
    for name, spec in MNIST_MODELS.items():
        dist = flip_distribution(sweeps, name)
        rows += [{"model": spec.label, "eps": float(e), "flipped": float(c)}
                 for e, c in zip(dist.grid, dist.cdf())]
    return rows


def gradient_rows(sweeps: dict) -> list[dict]:
    """One row per model: max / mean / median ||grad_x p_c||_2 and the spectral-norm upper bound."""
    rows = []
    for name, spec in MNIST_MODELS.items():
        entry = _model_entry(sweeps, name)
        try:
            g, bound = entry["gradient_norms"], float(entry["spectral_norm_bound"]["value"])
            rows.append({"model": spec.label, "name": name, "max": float(g["max"]),
                         "mean": float(g["mean"]), "median": float(g["median"]),
                         "spectral bound": bound, "max / bound": float(g["max"]) / bound,
                         "images": int(g["n"])})
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise PretrainedError(
                f"sweeps.json lacks the gradient statistics of {name}: regenerate it with `{REGENERATE_MNIST}`"
            ) from None
    return rows


def gallery_indices(labels: np.ndarray, k: int, seed: int) -> tuple[int, ...]:
    """Positions of k shipped test digits of k different classes (as many as exist), seeded.

    Args: labels [N] of the shipped sample; k >= 1; seed (the app's "other digits" button bumps it).
    Returns: a sorted-by-class tuple of ints, hashable for caching.
    """
    labels = np.asarray(labels)
    if k < 1 or labels.size == 0:
        raise InputError(f"need k >= 1 and a non-empty sample, got k={k}, {labels.size} labels")
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(labels))[:k]
    picks = [int(rng.choice(np.flatnonzero(labels == c))) for c in sorted(classes)]
    return tuple(picks)


# --- the sentences the MNIST page shows, computed from the shipped data -------------------------
# Each returns markdown text that follows the numbers, whatever they say; the page only draws it.

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
TALK_EPS = 0.1  # the eps at which the page reads the attack curves (the talk's)
NOISE_STD = 0.5  # the noise std at which the page reads the noise curve (the gallery's largest)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def clean_reading(rows: list[dict]) -> str:
    """What the clean-accuracy table shows: both test accuracies, which model is ahead, the losses.

    Args: rows from `clean_rows` (keyed by model label)."""
    by = {r["model"]: r for r in rows}
    small, big = by[SMALL.label], by[BIG.label]
    gap = big["test accuracy"] - small["test accuracy"]
    verdict = (
        "clean accuracy barely separates them" if abs(gap) < 0.01
        else f"{BIG.name if gap > 0 else SMALL.name} is the more accurate by {abs(gap) * 100:.1f} points"
    )
    return (
        f"On {small['test images']:,} test images {SMALL.name} scores "
        f"{_pct(small['test accuracy'])} and {BIG.name} {_pct(big['test accuracy'])}: {verdict}. "
        f"Test losses: {small['test loss']:.3f} and {big['test loss']:.3f} (the talk's: "
        f"{small['talk loss']:.3f} and {big['talk loss']:.3f}, the bigger model worse)."
    )


def _reruns(zero_loss: list[dict] | None) -> dict[str, tuple[dict, dict]] | None:
    """{model name: (shipped row, rerun row)} of `core.results.capacity.zero_loss_rows`; None unless
    both talk models have both."""
    if not zero_loss:
        return None
    out = {}
    for name in (SMALL.name, BIG.name):
        short = [r for r in zero_loss if r["model"] == name and r["training length"] == SHORT_LABEL]
        long = [r for r in zero_loss if r["model"] == name and r["training length"] == LONG_LABEL]
        if not short or not long:
            return None
        out[name] = (short[0], long[0])
    return out


def training_length_note(metadata: dict[str, dict], zero_loss: list[dict] | None = None) -> str:
    """Why the shipped test losses are lower than the talk's, with each model's epochs, and what
    this project's reruns towards zero training loss say about training length as the reason.

    Args: metadata maps a model name to its metadata JSON (its "training" epochs; "?" if absent).
    zero_loss: `core.results.capacity.zero_loss_rows` of pretrained/capacity/results.json, or None
    when those results could not be read (the note then says what is not known).
    """
    epochs = {name: (m.get("training") or {}).get("epochs", "?") for name, m in metadata.items()}
    talk = {name: TALK_CLEAN[name][1] for name in (SMALL.name, BIG.name)}
    text = (
        f"**Why our test losses are lower than the talk's.** Ours stop as soon as they fit the "
        f"training set (every image right and training loss ≤ 0.001: {epochs[SMALL.name]} epochs for "
        f"{SMALL.name}, {epochs[BIG.name]} for {BIG.name}, with a decaying learning rate). Training on "
        "makes the few test mistakes more confident, and cross-entropy punishes a confident mistake "
        "without limit."
    )
    reruns = _reruns(zero_loss)
    if reruns is None:
        return text + (f" Whether that explains the talk's {talk[SMALL.name]:.3f} and {talk[BIG.name]:.3f} "
                       "is not known here: the reruns towards zero loss (pretrained/capacity/) could not "
                       "be read, and the talk's training settings are not known to us.")
    (s_short, s_long), (b_short, b_long) = reruns[SMALL.name], reruns[BIG.name]
    rose = all(long["test loss"] > short["test loss"] for short, long in reruns.values())
    text += (f" Our reruns towards zero loss ({SMALL.name} to training loss {s_long['train loss']:.1e} "
             f"in {s_long['epochs']} epochs, {BIG.name} to {b_long['train loss']:.1e} in {b_long['epochs']}) "
             f"{'raised' if rose else 'took'} the test losses from {s_short['test loss']:.3f} and "
             f"{b_short['test loss']:.3f} {'only ' if rose else ''}to {s_long['test loss']:.3f} and "
             f"{b_long['test loss']:.3f}, against the talk's {talk[SMALL.name]:.3f} and {talk[BIG.name]:.3f}")
    reached = [name for name, (_, long) in reruns.items() if long["test loss"] >= talk[name]]
    if len(reached) == len(reruns):
        return text + ": training length alone can explain the talk's losses."
    if reached:
        return text + (f": training length can explain {reached[0]}'s, not the other's; the talk's "
                       "training settings are not known to us.")
    order = ("" if (b_long["test loss"] > s_long["test loss"]) == (talk[BIG.name] > talk[SMALL.name])
             else f", and {BIG.name}'s stays the {'higher' if b_long['test loss'] > s_long['test loss'] else 'lower'}"
                  f" where the talk's is the {'higher' if talk[BIG.name] > talk[SMALL.name] else 'lower'}")
    return text + (f"{order}: training length alone does not explain them. The talk's training settings "
                   "are not known to us.")


def fgsm_pgd_lesson(zero_loss: list[dict] | None, curves: list[dict] | None, eps: float = TALK_EPS) -> str:
    """A sentence on FGSM against PGD from the reruns towards zero loss, or "" when no talk model's
    FGSM accuracy rose while its PGD accuracy fell.

    When training on raises a network's FGSM accuracy while its PGD accuracy falls, the one-step
    attack got weaker (a saturated softmax gives a less useful gradient), not the network more
    robust. Args: zero_loss and curves: `core.results.capacity.zero_loss_rows` and
    `zero_loss_curves` of pretrained/capacity/results.json (None when unread). eps: read at the
    grid eps nearest this one.
    """
    reruns = _reruns(zero_loss)
    if reruns is None or not curves:
        return ""
    for name, (short, long) in reversed(list(reruns.items())):  # f_nd first: the larger change
        acc = {}
        for attack in ("FGSM", "PGD"):
            for length in (SHORT_LABEL, LONG_LABEL):
                points = [c for c in curves if c["name"] == name and c["attack"] == attack
                          and c["training length"] == length]
                if not points:
                    break
                at = min(points, key=lambda c: abs(c["eps"] - eps))
                acc[attack, length] = (at["eps"], at["accuracy"])
        if len(acc) < 4:
            continue
        e = acc["FGSM", SHORT_LABEL][0]
        fgsm = (acc["FGSM", SHORT_LABEL][1], acc["FGSM", LONG_LABEL][1])
        pgd = (acc["PGD", SHORT_LABEL][1], acc["PGD", LONG_LABEL][1])
        if fgsm[1] > fgsm[0] and pgd[1] < pgd[0]:
            return (f"**FGSM accuracy is not robustness.** Trained on from loss {short['train loss']:.1e} "
                    f"to {long['train loss']:.1e}, {name}'s FGSM accuracy at eps = {e:.2f} rose from "
                    f"{_pct(fgsm[0])} to {_pct(fgsm[1])} while its PGD accuracy fell from {_pct(pgd[0])} "
                    f"to {_pct(pgd[1])}: the one-step attack got weaker (a saturated softmax gives a "
                    "less useful gradient), the network did not get more robust.")
    return ""


def pgd_description(sweeps: dict) -> str:
    """PGD explained with the shipped sweep's settings (steps, step size, random start)."""
    pgd = sweeps.get("settings", {}).get("pgd", {})
    return (
        f"**PGD** (projected gradient descent, Madry et al. 2018) is FGSM repeated: from a random "
        f"point of the ε-ball around x ({'random start' if pgd.get('random_start') else 'no random start'}), "
        f"{pgd.get('steps', '?')} steps of x ← x + α·sign(∇ₓ loss) with step size α = "
        f"{pgd.get('step_size', '?')}, each followed by a **projection** back onto the ε-ball "
        "(every pixel within ε of the original) and onto [0, 1]. FGSM takes one step of the full size "
        "ε along the gradient at x; PGD re-reads the gradient after every small step, so it follows "
        "the loss where it bends and finds perturbations that FGSM misses: its accuracy is lower, the "
        "attack stronger. It is the standard strong first-order attack."
    )


def curves_reading(sweeps: dict, eps: float = TALK_EPS, std: float = NOISE_STD) -> str:
    """What the three accuracy curves show at eps (FGSM, PGD) and std (noise), and whether noise of
    a larger norm hurts less than the attacks (the attacks choose their direction) or not."""
    eps_f, fgsm_small = accuracy_at(sweeps, SMALL.name, "fgsm", eps)
    _, fgsm_big = accuracy_at(sweeps, BIG.name, "fgsm", eps)
    eps_p, pgd_small = accuracy_at(sweeps, SMALL.name, "pgd", eps)
    _, pgd_big = accuracy_at(sweeps, BIG.name, "pgd", eps)
    std_n, noise_small = accuracy_at(sweeps, SMALL.name, "noise", std)
    _, noise_big = accuracy_at(sweeps, BIG.name, "noise", std)
    settings = sweeps.get("settings", {})
    n_test = f"{sweeps['test_set']['n']:,}" if "test_set" in sweeps else "the"
    n_pgd = f"{settings['pgd']['subset_size']:,}" if "subset_size" in settings.get("pgd", {}) else "some"
    n_draws = len(settings.get("noise", {}).get("seeds", []))
    l2_fgsm, l2_noise = eps_f * 28, std_n * 28  # sqrt(784) = 28
    return (
        f"At eps = {eps_f:.2f} (each pixel moved by at most {eps_f * 255:.0f} of 255 grey "
        f"levels) FGSM leaves {SMALL.name} {_pct(fgsm_small)} and {BIG.name} {_pct(fgsm_big)} accuracy; "
        f"PGD at eps = {eps_p:.2f} leaves {_pct(pgd_small)} and {_pct(pgd_big)}. Random noise of std "
        f"{std_n:.2f}, on every pixel, leaves {_pct(noise_small)} and {_pct(noise_big)}: "
        + (f"an attack works by choosing its direction, not by its size. Compare sizes as norms of "
           f"the whole perturbation, not eps against std: FGSM at eps = {eps_f:.2f} has "
           f"‖δ‖₂ ≤ {eps_f:.2f}·√784 = {l2_fgsm:.1f} and ‖δ‖∞ = {eps_f:.2f}; noise of std {std_n:.2f} "
           f"has ‖δ‖₂ ≈ {std_n:.2f}·√784 = {l2_noise:.0f} before clipping to [0, 1] and ‖δ‖∞ near "
           f"{min(1.0, 4 * std_n):.1f}: noise larger in both norms hurts less."
           if min(noise_small, noise_big) > max(fgsm_small, fgsm_big)
           else "here noise hurts at least as much as the attacks.")
        + f" FGSM and noise on {n_test} test images (noise averaged over {n_draws} draws), PGD on "
        f"{n_pgd} of them."
    )


def fgsm_reading(deltas: dict[str, np.ndarray], clean_x: np.ndarray) -> str:
    """What the shown FGSM perturbations do, in numbers: pixels moved, background moved, agreement.

    Args: deltas: {model name: perturbations [k, 784]} of the shown digits; clean_x [k, 784] the
    digits before the attack (their 0 pixels are the black background).
    """
    moved = {name: np.abs(d) > 1e-6 for name, d in deltas.items()}
    background = np.asarray(clean_x) == 0
    parts = [f"{_pct(m.mean())} of the pixels for {name}"
             + (f" ({_pct(m[background].mean())} of the black background)" if background.any() else "")
             for name, m in moved.items()]
    text = f"On these {len(clean_x)} digits FGSM moves {' and '.join(parts)}."
    first, second = list(deltas)[:2]
    both = moved[first] & moved[second]
    if both.any():
        same = np.sign(deltas[first][both]) == np.sign(deltas[second][both])
        text += (f" Each follows its own model's gradient: of the pixels both move, {_pct(same.mean())} "
                 f"are pushed the same way by the two models and {_pct(1 - same.mean())} opposite ways.")
    return text


def noise_reading(deltas: dict[str, np.ndarray]) -> str:
    """What to compare the shown noise with: its mean L2 size, and FGSM at the same norm.

    Args: deltas: {model name: noise fields [k, 784]} of the shown digits (clipped to [0, 1])."""
    l2 = float(np.mean([np.linalg.norm(d, axis=1).mean() for d in deltas.values()]))
    return (
        f"Both models see the same noise field, of L2 size ‖δ‖₂ = {l2:.2f} on average (each "
        "digit's ‖δ‖₂ and ‖δ‖∞ are under its perturbation). Count the crosses, then switch to "
        "FGSM and raise eps until its ‖δ‖₂ is as large (a noise std and an eps are not "
        "comparable: FGSM moves almost every pixel by the full eps): the attack flips digits "
        "at the same or a smaller norm, because it chooses its direction."
    )


def flip_reading(sweeps: dict) -> str:
    """What the flip-eps chart shows: which model needs the larger median eps, and how many digits
    no eps on the grid flips."""
    dists = {s.name: flip_distribution(sweeps, s.name) for s in (SMALL, BIG)}
    med = {name: d.quantile(0.5) for name, d in dists.items()}
    fmt = {name: (f"{v:.4f}" if v != float("inf") else f"more than {dists[name].grid[-1]:.2f}")
           for name, v in med.items()}
    bigger = BIG.name if med[BIG.name] > med[SMALL.name] else SMALL.name
    smaller = SMALL.name if bigger == BIG.name else BIG.name
    verdict = (
        f"{bigger} needs a larger median eps to flip: {fmt[bigger]} against {fmt[smaller]}"
        if med[BIG.name] != med[SMALL.name] else f"Both models flip at the same median eps, {fmt[BIG.name]}"
    )
    d0 = dists[SMALL.name]
    return (
        f"For each of {d0.n:,} test digits, the smallest eps (grid step "
        f"{d0.grid[1] - d0.grid[0]:.4f}) at which FGSM changes the model's own prediction; the curve "
        f"is the fraction flipped by that eps. {verdict}. Not flipped by any eps up to {d0.grid[-1]:.2f}: "
        f"{dists[SMALL.name].never} of {d0.n:,} digits for {SMALL.name}, {dists[BIG.name].never} of "
        f"{dists[BIG.name].n:,} for {BIG.name}."
    )


def gradient_reading(sweeps: dict) -> str:
    """What the gradient table shows: which network is steeper, against the spectral bounds, and
    what that does (and does not) say about the law of robustness."""
    g = {r["name"]: r for r in gradient_rows(sweeps)}
    steeper = SMALL.name if g[SMALL.name]["max"] > g[BIG.name]["max"] else BIG.name
    flatter = BIG.name if steeper == SMALL.name else SMALL.name
    law = (
        "That is the direction the law of robustness points, and no more: the law is about fitting "
        "noisy labels below the noise level (it says a model with too few parameters cannot do that "
        "smoothly), MNIST's labels are nearly noise-free, and neither network comes near n·d "
        "parameters. These measurements agree with the law's direction; they do not test it."
        if steeper == SMALL.name else
        f"The law of robustness (for noisy labels; a heuristic on MNIST) only says that {SMALL.name} "
        f"(p ~ n) cannot fit the data and be smooth; "
        f"it does not force {BIG.name} to be smooth, and here it is not the smoother one."
    )
    return (
        f"‖∇p‖ is the gradient of the probability of the predicted class; its largest "
        f"value over {g[SMALL.name]['images']:,} test images is a lower bound on the network's Lipschitz "
        f"constant, and ‖W1‖₂‖W2‖₂ an upper bound, so the true constant lies between them. "
        f"By its largest gradient, {steeper} is the steeper network: max {g[steeper]['max']:.3f} against "
        f"{g[flatter]['max']:.3f} ({g[steeper]['max'] / g[flatter]['max']:.1f} times), mean "
        f"{g[steeper]['mean']:.3g} against {g[flatter]['mean']:.3g}. The measured maxima are "
        f"{_pct(g[SMALL.name]['max / bound'])} ({SMALL.name}) and {_pct(g[BIG.name]['max / bound'])} "
        f"({BIG.name}) of the spectral bounds. {law}"
    )
