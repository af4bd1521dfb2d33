"""The measured answers of the class polls ("predict, then see"; the questions are in app/polls.py).

At a turning point of the talk the class votes, then the lecturer shows the class's answers beside
the answer the shipped results give. Each `*_answer` function here reads that answer off the shipped
data (dicts and rows as the readers of `core.results` return them, so a test can feed it made-up
data that says the opposite), and each `answer_*` function takes the root of pretrained/ and reads
the files first; app/polls.py registers the latter as `Poll.answer`. The choices of each question
live here (`*_CHOICES`), beside the code that picks one, so an index and its text cannot drift.

"About the same" is decided by `same_within`: two accuracies are the same when they differ by less
than `ABOUT_SAME_POINTS` points or less than two standard errors of their difference on the test
images measured, whichever is larger. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from core.attacks.noise import clipped_noise_l2
from core.results.capacity import (
    AGREEMENT_POINTS,
    CAPACITY_SUBDIR,
    NOT_LEARNED,
    REGENERATE_CAPACITY,
    RESULTS_FILE,
    autoattack,
    by_width,
    eps_grid,
    eps_index,
    load_capacity_results,
    mean_accuracy,
    spread,
)
from core.results.mnist import BIG, SMALL, TALK_EPS, accuracy_at, curve_rows
from core.results.pretrained import (
    MNIST_SUBDIR,
    SAMPLE_FILE,
    SWEEPS_FILE,
    PretrainedError,
    load_mnist_sweeps,
    load_sample,
)
from core.results.random_data import RANDOM_DATA_SUBDIR, SHIPPED_GRIDS, load_random_data_sweep
from core.results.sweep_reading import ALIGNED_COS, FLAT_TOLERANCE, read_split, read_sweep

ABOUT_SAME_POINTS = 2.0  # accuracies closer than this (in points) are "about the same"
SMALL_WIDTH = 16  # the capacity sweep's narrowest network, the adversarial-training question's

# Each question's choices, in display order; a `Measured.choice` indexes them.
FGSM_SIZE_CHOICES = (f"{SMALL.name}, the small one", f"{BIG.name}, the big one", "About the same")
RANDOM_FLAT_CHOICES = ("Yes, it stays flat", "No, it grows with d", "It falls")
ADVERSARIAL_SMALL_CHOICES = ("Yes, it resists the attack", "No, it stays as fragile",
                             "It does not even learn")
NOISE_CHOICES = ("Yes, about as much", "No, it hurts less", "It hurts more")


@dataclass(frozen=True)
class Measured:
    """A poll's measured answer.

    choice: index into the poll's choices that the shipped results support, None where they decide
    none. text: one or two sentences a lecturer repeats, every number computed from shipped data.
    source: the shipped files it comes from, and on how many test images.
    """

    choice: int | None
    text: str
    source: str


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def same_within(acc_a: float, n_a: int, acc_b: float, n_b: int) -> float:
    """The largest difference (a fraction, not points) at which two accuracies count as the same.

    max(ABOUT_SAME_POINTS / 100, 2 * sqrt(a(1-a)/n_a + b(1-b)/n_b)): two standard errors of the
    difference of two accuracies measured on n_a and n_b test images (an n <= 0, unknown, adds no
    error), and never less than `ABOUT_SAME_POINTS` points.
    """
    var = sum(a * (1 - a) / n for a, n in ((acc_a, n_a), (acc_b, n_b)) if n > 0)
    return max(ABOUT_SAME_POINTS / 100, 2 * float(np.sqrt(var)))


def compare(acc_a: float, n_a: int, acc_b: float, n_b: int) -> int:
    """+1 when b is higher than a by more than `same_within`, -1 when lower, 0 when the same."""
    gap = acc_b - acc_a
    return 0 if abs(gap) <= same_within(acc_a, n_a, acc_b, n_b) else (1 if gap > 0 else -1)


def _at(sweeps: dict, name: str, kind: str, eps: float) -> tuple[float, float, int]:
    """(grid eps nearest eps, accuracy there, test images) of one model's MNIST sweep."""
    e, acc = accuracy_at(sweeps, name, kind, eps)
    n = next((r["n"] for r in curve_rows(sweeps, kind) if r["name"] == name and r["eps"] == e), 0)
    return e, acc, n or int((sweeps.get("test_set") or {}).get("n", 0))


# --- a. which network survives FGSM better ----------------------------------------------------


def _autoattack_clause(capacity: dict | None, eps: float) -> tuple[str, str]:
    """What AutoAttack (capacity sweep, on the shipped f_n and f_nd) says of the PGD numbers, and
    the source it adds; ("", "") where it was not measured at eps."""
    if not capacity:
        return "", ""
    nets = {n.get("name"): n for n in capacity.get("networks", [])}
    aa = [autoattack(nets.get(f"standard_h{s.hidden}") or {"results": {}}) for s in (SMALL, BIG)]
    if None in aa or any(abs(a["eps"] - eps) > 1e-9 or "pgd_accuracy" not in a for a in aa):
        return "", ""
    gap = max(a["pgd_accuracy"] - a["accuracy"] for a in aa)
    source = f"; AutoAttack: pretrained/{CAPACITY_SUBDIR}/{RESULTS_FILE}, {aa[0]['n']:,} images"
    if gap <= AGREEMENT_POINTS / 100:
        return f"; AutoAttack is at most {100 * max(gap, 0):.1f} points lower", source
    return (f"; upper bounds: AutoAttack leaves {_pct(aa[0]['accuracy'])} and {_pct(aa[1]['accuracy'])}",
            source)


def fgsm_size_answer(sweeps: dict, capacity: dict | None = None, eps: float = TALK_EPS) -> Measured:
    """Which talk network keeps more test digits under FGSM at eps (`FGSM_SIZE_CHOICES`), and what
    PGD, the stronger attack, says; with the capacity sweep (None: unread), how far AutoAttack
    lies below PGD on the same networks (`AGREEMENT_POINTS`, as the capacity page reads it)."""
    e, fs, n = _at(sweeps, SMALL.name, "fgsm", eps)
    _, fb, _ = _at(sweeps, BIG.name, "fgsm", eps)
    ep, ps, n_p = _at(sweeps, SMALL.name, "pgd", eps)
    _, pb, _ = _at(sweeps, BIG.name, "pgd", eps)
    order = compare(fs, n, fb, n)
    choice = {-1: 0, 1: 1, 0: 2}[order]
    if order:
        verdict = f"{(BIG if order > 0 else SMALL).name} survives better, by {100 * abs(fb - fs):.1f} points"
    else:
        verdict = f"about the same (within {100 * same_within(fs, n, fb, n):.1f} points)"
    pgd_order = compare(ps, n_p, pb, n_p)
    if pgd_order == 0:
        pgd_says = "about the same"
    elif pgd_order == order:
        pgd_says = "the same order"
    else:
        pgd_says = f"{(BIG if pgd_order > 0 else SMALL).name} ahead by {100 * abs(pb - ps):.1f} points"
    aa_says, aa_source = _autoattack_clause(capacity, ep)
    text = (f"FGSM at eps = {e:.2f} leaves {SMALL.name} {_pct(fs)} and {BIG.name} {_pct(fb)} of {n:,} "
            f"test digits: {verdict}. PGD, the stronger attack, leaves {_pct(ps)} and {_pct(pb)} "
            f"({n_p:,} digits{aa_says}): {pgd_says}.")
    source = (f"pretrained/{MNIST_SUBDIR}/{SWEEPS_FILE}: FGSM on {n:,} test images, PGD on {n_p:,}"
              + aa_source)
    return Measured(choice, text, source)


def answer_fgsm_size(root: str) -> Measured:
    """`fgsm_size_answer` on the shipped files under root (pretrained/); the AutoAttack clause is
    left out when pretrained/capacity cannot be read (the MNIST page does the same)."""
    sweeps = load_mnist_sweeps(Path(root))
    try:
        capacity = load_capacity_results(root)
    except PretrainedError:
        capacity = None
    return fgsm_size_answer(sweeps, capacity)


# --- b. does the k = n curve stay flat ---------------------------------------------------------


def _direction(relative: float, tolerance: float = FLAT_TOLERANCE) -> int:
    """0: flat (|change| < tolerance), 1: grows, 2: falls; the indices of `RANDOM_FLAT_CHOICES`."""
    return 0 if abs(relative) < tolerance else (1 if relative > 0 else 2)


def random_flat_answer(rows: Sequence[dict], split_rows: Sequence[dict] | None = None,
                       control_rows: Sequence[dict] | None = None) -> Measured:
    """Whether the k = n networks' maximum gradient stays flat as d grows (`RANDOM_FLAT_CHOICES`),
    by `core.results.sweep_reading`'s criterion (the measured ends within `FLAT_TOLERANCE`).

    rows: the sweep read (the paper-scale grid). Where the curve is not flat, split_rows (a grid
    that recorded the linear part, `read_split`) and control_rows (the even control) add why, as
    the random-data page explains it; None leaves that out.
    """
    big = read_sweep(rows)["f_nd"]
    source = (f"pretrained/{RANDOM_DATA_SUBDIR}/{SHIPPED_GRIDS['paper'].folder} "
              f"({big.memorized} memorized {big.short} runs)")
    rel = big.relative_change
    if rel is None:
        return Measured(None, f"Too few memorized {big.short} runs to read a trend.", source)
    n = int(rows[0]["n"])
    choice = _direction(rel)
    ends = f"from {big.measured_low:.1f} at d = {big.d_min:,} to {big.measured_high:.1f} at d = {big.d_max:,}"
    text = (f"At n = {n:,} the {big.short} networks' largest gradient "
            + (f"stays flat, {ends} ({rel:+.0%}: within {FLAT_TOLERANCE:.0%})." if choice == 0 else
               f"{('grows', 'falls')[choice - 1]} {ends} ({rel:+.0%}; flat: within {FLAT_TOLERANCE:.0%})."))
    split = read_split(split_rows, "f_nd") if split_rows and choice else None
    control = read_sweep(control_rows)["f_nd"] if control_rows and choice else None
    if split is not None and control is not None and control.relative_change is not None:
        what = ("the least-squares line of the random labels" if split.ls_cos >= ALIGNED_COS
                else "a direction all points share")
        verb = ("stays flat", "grows", "falls")[_direction(control.relative_change)]
        text += (f" Its linear part, {what}, is {split.lin_share:.0%} of it at d = {split.d_max:,} "
                 f"(n = {int(split_rows[0]['n']):,}); with an even activation (none) it {verb}, "
                 f"{control.measured_low:.1f} to {control.measured_high:.1f}.")
        source += (f"; the linear part and the even control: {SHIPPED_GRIDS['laptop'].folder} and "
                   f"{SHIPPED_GRIDS['control'].folder}")
    return Measured(choice, text, source)


def answer_random_flat(root: str) -> Measured:
    """`random_flat_answer` on the shipped paper-scale grid, with the laptop grid's split and the
    even control (pretrained/random_data/)."""
    rows, _ = load_random_data_sweep(Path(root), "paper")
    split_rows, _ = load_random_data_sweep(Path(root), "laptop")
    control_rows, _ = load_random_data_sweep(Path(root), "control")
    return random_flat_answer(rows, split_rows, control_rows)


# --- c. does adversarial training work for a small network ------------------------------------


def adversarial_small_answer(doc: dict, hidden: int = SMALL_WIDTH, eps: float = 0.1) -> Measured:
    """Whether adversarial training makes the h = hidden network robust (`ADVERSARIAL_SMALL_CHOICES`).

    Read from the capacity sweep at the grid eps nearest eps, under AutoAttack where every network
    of that width has it there, else PGD (as `capacity_text.slide_claim`). "Does not even learn":
    the adversarial nets' mean clean training accuracy is below `NOT_LEARNED`; "resists": their
    attacked accuracy is above standard training's by more than `same_within`.
    """
    i = eps_index(doc, eps)
    e = eps_grid(doc)[i]
    groups = {kind: next((g for g in by_width(doc, kind) if g[0]["hidden"] == hidden), None)
              for kind in ("standard", "adversarial")}
    if None in groups.values():
        raise PretrainedError(f"pretrained/{CAPACITY_SUBDIR}/{RESULTS_FILE} has no standard and adversarial "
                              f"network of width h = {hidden}: regenerate it with `{REGENERATE_CAPACITY}`")
    std, adv = groups["standard"], groups["adversarial"]
    measured = all(mean_accuracy(g, "AutoAttack", i, e) is not None for g in (std, adv))
    attack = "AutoAttack" if measured else "PGD"
    n = autoattack(adv[0])["n"] if attack == "AutoAttack" else int(doc["settings"]["pgd"]["subset_size"])
    a_std, a_adv = mean_accuracy(std, attack, i, e), mean_accuracy(adv, attack, i, e)
    clean_std, clean_adv = mean_accuracy(std, "clean", i, e), mean_accuracy(adv, "clean", i, e)
    train_adv = spread([net["results"]["train_accuracy"] for net in adv])[0]
    choice = 2 if train_adv < NOT_LEARNED else (0 if compare(a_std, n, a_adv, n) > 0 else 1)
    seeds = f" (mean of {len(adv)} seeds)" if len(adv) > 1 else ""
    text = (f"At h = {hidden:,} ({adv[0]['param_count']:,} parameters) adversarial training keeps "
            f"{_pct(a_adv)}{seeds} of {n:,} test digits under {attack} at eps = {e:g}, standard training "
            f"{_pct(a_std)}. ")
    text += (f"It did not learn: {_pct(train_adv)} clean training accuracy." if choice == 2 else
             f"The price: {_pct(clean_adv)} clean test accuracy instead of {_pct(clean_std)}.")
    source = f"pretrained/{CAPACITY_SUBDIR}/{RESULTS_FILE}: {attack} on {n:,} test images, h = {hidden}"
    return Measured(choice, text, source)


def answer_adversarial_small(root: str) -> Measured:
    """`adversarial_small_answer` on the shipped capacity sweep (pretrained/capacity/)."""
    return adversarial_small_answer(load_capacity_results(root))


# --- d. does random noise of the same size hurt as much as FGSM --------------------------------


def noise_answer(sweeps: dict, sample_x: np.ndarray, eps: float = TALK_EPS) -> Measured:
    """Whether Gaussian noise at least as large as FGSM at eps hurts as much (`NOISE_CHOICES`).

    A noise std and an eps are different measures, so sizes are compared as L2 norms of the change:
    FGSM at eps changes an image by ||delta||_2 <= eps sqrt(784) (clipping only shrinks it); the
    noise std read is the smallest on the shipped grid whose ||delta||_2 after clipping
    (`clipped_noise_l2`, mean over the sample digits sample_x [N, 784]) reaches that bound. The
    choice needs both networks to agree; where no std on the grid is large enough, none is chosen.
    """
    e, fs, n = _at(sweeps, SMALL.name, "fgsm", eps)
    _, fb, _ = _at(sweeps, BIG.name, "fgsm", eps)
    x = np.asarray(sample_x, dtype=np.float64).reshape(len(sample_x), -1)
    bound = e * np.sqrt(x.shape[1])
    stds = sorted({r["eps"] for r in curve_rows(sweeps, "noise") if r["name"] == SMALL.name})
    size = 0.0
    for std in stds:
        size = float(clipped_noise_l2(x, std).mean())
        if size >= bound:
            break
    source = (f"pretrained/{MNIST_SUBDIR}/{SWEEPS_FILE}: FGSM and noise on {n:,} test images; the noise's "
              f"size after clipping on the {len(x)} digits of {SAMPLE_FILE}")
    fgsm = (f"At eps = {e:.2f} FGSM changes a digit by ‖δ‖₂ ≤ {bound:.1f} and leaves {SMALL.name} "
            f"{_pct(fs)} and {BIG.name} {_pct(fb)}")
    if size < bound:
        return Measured(None, f"{fgsm}. The shipped noise stops at std {stds[-1]:.2f}, ‖δ‖₂ ≈ {size:.1f} "
                        "after clipping: too small to compare at equal size.", source)
    _, ns, n_noise = _at(sweeps, SMALL.name, "noise", std)
    _, nb, _ = _at(sweeps, BIG.name, "noise", std)
    votes = {compare(fs, n, ns, n_noise), compare(fb, n, nb, n_noise)}
    choice = {1: 1, 0: 0, -1: 2}[votes.pop()] if len(votes) == 1 else None
    verdict = {1: "Noise at least as large hurts less: the attack's harm is its direction.",
               0: "At equal size they hurt about as much.", 2: "Here noise at least as large hurts more.",
               None: "The two networks disagree."}[choice]
    return Measured(choice, f"{fgsm}; Gaussian noise of std {std:.2f}, ‖δ‖₂ ≈ {size:.1f} after clipping, "
                            f"leaves {_pct(ns)} and {_pct(nb)}. {verdict}", source)


def answer_noise(root: str) -> Measured:
    """`noise_answer` on the shipped MNIST sweeps and sample (pretrained/mnist/)."""
    sweeps = load_mnist_sweeps(Path(root))
    x, _ = load_sample(Path(root))
    return noise_answer(sweeps, x)
