"""Reading a random-data sweep: the sqrt(d) fit per width rule, and what it says about the paper.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444) report that the maximum random gradient of
a network that memorizes random labels grows like sqrt(d) when k = 10 n / d (rule key "f_n",
p ~ 10 n) and stays roughly flat when k = n (key "f_nd", p ~ n d). The keys are the CSV files';
sentences name a rule by `WidthRule.short` ("k = n"), since f_n and f_nd name the MNIST networks.
This module turns sweep rows (the shipped sweep of `core.results.random_data`, or the page's live
mini-sweep, same row keys) into numbers a lecturer can read out: the fitted slope, the measured
values at both ends of the grid, and a verdict whose criterion is stated, never a hard-coded claim.
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from core.errors import InputError
from core.experiments.robustness_law import law_lower_bound
from core.results.random_data import fit_sqrt_d
from core.specs import get_width_rule

# A rule's maximum gradient is called flat when its measured mean at the largest d differs from
# that at the smallest d by less than this fraction of the latter. Measured, not fitted: the fitted
# line's value at a small d can be near zero or negative (a gradient norm cannot).
FLAT_TOLERANCE = 0.25


@dataclass(frozen=True)
class RuleReading:
    """One width rule's runs, summarised.

    Attributes:
        rule, label: the width rule (core.specs). runs: rows of this rule. memorized: rows that met
        the memorization rule (only those are fitted). d_min, d_max: extent of the memorized runs.
        slope, intercept, r2: least squares grad_max ~ slope sqrt(d) + intercept (None with fewer
        than two distinct d). fitted_low, fitted_high: the fit at d_min and d_max (for the chart;
        a sentence quotes the measured values). measured_low, measured_high: mean grad_max of the
        memorized runs at d_min and d_max.
    """

    rule: str
    label: str
    runs: int
    memorized: int
    d_min: int | None
    d_max: int | None
    slope: float | None
    intercept: float | None
    r2: float | None
    fitted_low: float | None
    fitted_high: float | None
    measured_low: float | None = None
    measured_high: float | None = None

    @property
    def fitted(self) -> bool:
        return self.slope is not None

    @property
    def short(self) -> str:
        """The rule in a sentence ("k = n"), never its key (f_n and f_nd name the MNIST networks)."""
        return get_width_rule(self.rule).short

    @property
    def relative_change(self) -> float | None:
        """(measured at d_max - measured at d_min) / measured at d_min: 0 for flat, +1 for a doubling."""
        if not self.fitted or not self.measured_low or self.measured_low <= 0:
            return None
        return (self.measured_high - self.measured_low) / self.measured_low

    def line(self, d: np.ndarray) -> np.ndarray:
        """The fitted line at dimensions d (any shape)."""
        if not self.fitted:
            raise InputError(f"rule {self.rule} has fewer than two memorized dimensions: no fit")
        return self.slope * np.sqrt(np.asarray(d, dtype=np.float64)) + self.intercept


def read_rule(rows: Sequence[dict], rule: str) -> RuleReading:
    """Summarise one width rule's rows (dicts with d, rule, memorized, grad_max)."""
    mine = [r for r in rows if r["rule"] == rule]
    mem = [r for r in mine if r["memorized"]]
    d = np.array([r["d"] for r in mem], dtype=np.float64)
    g = np.array([r["grad_max"] for r in mem], dtype=np.float64)
    label = get_width_rule(rule).label
    if np.unique(d).size < 2:
        return RuleReading(rule, label, len(mine), len(mem), int(d.min()) if d.size else None,
                           int(d.max()) if d.size else None, None, None, None, None, None)
    slope, intercept, r2 = fit_sqrt_d(d, g)
    lo, hi = float(d.min()), float(d.max())
    return RuleReading(rule, label, len(mine), len(mem), int(lo), int(hi), slope, intercept, r2,
                       slope * np.sqrt(lo) + intercept, slope * np.sqrt(hi) + intercept,
                       float(g[d == lo].mean()), float(g[d == hi].mean()))


def read_sweep(rows: Sequence[dict], rules: Sequence[str] = ("f_n", "f_nd")) -> dict[str, RuleReading]:
    """`read_rule` for each rule, in the given order."""
    return {rule: read_rule(rows, rule) for rule in rules}


@dataclass(frozen=True)
class Verdict:
    """How the runs compare with the paper's prediction.

    kind: "as_predicted" (k = 10n/d rises, k = n flat), "ordering_only" (k = 10n/d rises more
    steeply), "not_separated" (it does not rise more steeply than k = n), or "too_few" (a rule has
    no fit). text: one or two sentences with the numbers. criterion: how `kind` was decided.
    """

    kind: str
    text: str
    criterion: str


def verdict(readings: dict[str, RuleReading], tolerance: float = FLAT_TOLERANCE) -> Verdict:
    """Compare the two rules' runs with the paper's prediction, with the criterion spelled out.

    The sentences quote the measured mean maximum gradient at the smallest and the largest d; the
    fitted slopes only rank the rules. "Flat" compares the two measured ends (`FLAT_TOLERANCE`).
    """
    criterion = (f"'flat' means the mean maximum gradient at the largest d is within {tolerance:.0%} "
                 "of that at the smallest d; 'rises more steeply' compares the fitted slopes against "
                 "sqrt(d)")
    small, big = readings.get("f_n"), readings.get("f_nd")
    if small is None or big is None or not small.fitted or not big.fitted:
        return Verdict("too_few", "Too few memorized runs to fit both width rules: nothing to "
                       "compare yet.", criterion)
    rel_small, rel_big = small.relative_change, big.relative_change
    s, b = small.short, big.short
    numbers = (f"From d = {small.d_min} to d = {small.d_max} the mean maximum gradient of the {s} "
               f"networks goes from {small.measured_low:.2f} to {small.measured_high:.2f} (fitted "
               f"slope {small.slope:.3f} per unit of sqrt(d), r² = {small.r2:.2f}); that of the {b} "
               f"networks from {big.measured_low:.2f} to {big.measured_high:.2f} (slope "
               f"{big.slope:.3f}, r² = {big.r2:.2f}).")
    small_rises = small.slope > 0 and rel_small is not None and rel_small >= tolerance
    big_rises = big.slope > 0 and rel_big is not None and rel_big >= tolerance
    big_flat = rel_big is not None and abs(rel_big) < tolerance
    if small_rises and big_flat:
        return Verdict("as_predicted", numbers + f" As the paper predicts: {s} rises with sqrt(d), "
                       f"{b} stays flat.", criterion)
    if small.slope > big.slope:
        if small_rises and big_rises:
            tail = (f" Both rise, but {s} rises {small.slope / big.slope:.1f} times as steeply as {b}: "
                    f"the ordering the paper predicts, without {b} being flat.")
        elif small_rises:
            tail = (f" {s} rises while {b} falls: the ordering the paper predicts, with {b} going "
                    "down rather than staying flat.")
        else:
            change = f"{rel_small:.0%}" if rel_small is not None else "an unmeasurable amount"
            tail = (f" The slope of {s} is the larger, as the paper predicts, but over this grid it "
                    f"changes by only {change}: too little to call it growth like sqrt(d).")
        return Verdict("ordering_only", numbers + tail, criterion)
    return Verdict("not_separated", numbers + f" Here {s} does not rise more steeply than {b}: "
                   "these runs do not show the separation the paper predicts.", criterion)


# --- the linear part ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitReading:
    """One width rule's maximum gradient split into its linear part and the rest (memorized runs).

    Attributes:
        rule, label: the width rule. d_min, d_max: extent of the runs that recorded the split.
        fits: stat -> (slope per unit of sqrt(d), intercept, r^2) for "grad_max", "lin_norm",
            "nonlin_max" and, where recorded, "grad_max_init".
        at_d_max: stat -> mean over seeds at d_max (same stats, and "ls_slope_norm").
        lin_share: lin_norm / grad_max at d_max (mean over seeds).
        ls_fraction: median over runs of lin_norm / ls_slope_norm: how large the linear part is
            against the least-squares slope of the data.
        ls_fraction_by_d: d -> mean over seeds of lin_norm / ls_slope_norm (the ratio changes with
            d, which one median hides).
        ls_cos: median over runs of the cosine between the linear part and that slope (1: the
            linear part is the least-squares line of the labels).
    """

    rule: str
    label: str
    d_min: int
    d_max: int
    fits: dict[str, tuple[float, float, float]]
    at_d_max: dict[str, float]
    lin_share: float
    ls_fraction: float
    ls_cos: float
    ls_fraction_by_d: dict[int, float] = field(default_factory=dict)

    def rise(self, stat: str) -> float:
        """Fitted change of stat from d_min to d_max."""
        slope, _, _ = self.fits[stat]
        return slope * (np.sqrt(self.d_max) - np.sqrt(self.d_min))


SPLIT_STATS = ("grad_max", "lin_norm", "nonlin_max", "grad_max_init")


def read_split(rows: Sequence[dict], rule: str) -> SplitReading | None:
    """The split of one rule's memorized runs that recorded lin_norm and nonlin_max; None when
    fewer than two dimensions have them (e.g. the paper-scale grid, whose networks were not kept)."""
    mem = [r for r in rows if r["rule"] == rule and r["memorized"]
           and np.isfinite(r.get("lin_norm", np.nan)) and np.isfinite(r.get("nonlin_max", np.nan))]
    d = np.array([r["d"] for r in mem], dtype=np.float64)
    if np.unique(d).size < 2:
        return None
    fits = {}
    for stat in SPLIT_STATS:
        v = np.array([r.get(stat, np.nan) for r in mem], dtype=np.float64)
        if np.all(np.isfinite(v)):
            fits[stat] = fit_sqrt_d(d, v)
    top = [r for r in mem if r["d"] == d.max()]
    at_top = {s: float(np.mean([r.get(s, np.nan) for r in top])) for s in (*SPLIT_STATS, "ls_slope_norm")}
    ratios = [r["lin_norm"] / r["ls_slope_norm"] for r in mem
              if np.isfinite(r.get("ls_slope_norm", np.nan)) and r["ls_slope_norm"] > 0]
    cosines = [r["lin_ls_cos"] for r in mem if np.isfinite(r.get("lin_ls_cos", np.nan))]
    by_d: dict[int, list[float]] = {}
    for r in mem:
        if np.isfinite(r.get("ls_slope_norm", np.nan)) and r["ls_slope_norm"] > 0:
            by_d.setdefault(int(r["d"]), []).append(r["lin_norm"] / r["ls_slope_norm"])
    return SplitReading(rule, get_width_rule(rule).label, int(d.min()), int(d.max()), fits, at_top,
                        at_top["lin_norm"] / at_top["grad_max"],
                        float(np.median(ratios)) if ratios else float("nan"),
                        float(np.median(cosines)) if cosines else float("nan"),
                        {k: float(np.mean(v)) for k, v in sorted(by_d.items())})


# A linear part "points along" the least-squares slope from this median cosine on.
ALIGNED_COS = 0.5
# The split's sentence quotes the ratio of the linear part to the least-squares slope at the
# smallest d and at this many of the largest dimensions of the grid.
LARGE_DIMS = 3


def ls_fraction_text(by_d: dict[int, float]) -> str:
    """"124% of its length at d = 20, and 56% to 67% at d = 700, 800 and 1000" from {d: ratio}."""
    dims = sorted(by_d)
    first = f"{by_d[dims[0]]:.0%} of its length at d = {dims[0]}"
    top = dims[max(1, len(dims) - LARGE_DIMS):]
    if not top:
        return first
    values = [by_d[d] for d in top]
    where = top[0] if len(top) == 1 else ", ".join(map(str, top[:-1])) + f" and {top[-1]}"
    lo, hi = f"{min(values):.0%}", f"{max(values):.0%}"
    span = lo if lo == hi else f"{lo} to {hi}"
    return f"{first}, and {span} at d = {where}"


def split_text(split: SplitReading) -> str:
    """Sentences that say, from the numbers, where the rule's maximum gradient comes from."""
    rise = {s: split.rise(s) for s in split.fits}
    text = (f"For {split.label}, from d = {split.d_min} to d = {split.d_max} the fitted maximum "
            f"gradient rises by {rise['grad_max']:+.2f}; its linear part ‖mean gradient‖ by "
            f"{rise['lin_norm']:+.2f}, and the largest deviation from that mean by "
            f"{rise['nonlin_max']:+.2f}. At d = {split.d_max} the linear part is "
            f"{split.at_d_max['lin_norm']:.2f} of a maximum of {split.at_d_max['grad_max']:.2f} "
            f"({split.lin_share:.0%}).")
    if np.isfinite(split.ls_cos):
        along = "points along" if split.ls_cos >= ALIGNED_COS else "does not point along"
        text += (f" The linear part {along} the least-squares slope β of the run's own data "
                 f"(median cosine {split.ls_cos:.2f}; 0 would mean unrelated directions)")
        text += (f" and is {ls_fraction_text(split.ls_fraction_by_d)} (mean over seeds)."
                 if split.ls_fraction_by_d else ".")
    if "grad_max_init" in rise:
        text += (f" At initialization the same probe gives {split.at_d_max['grad_max_init']:.2f} "
                 f"at d = {split.d_max}.")
    if abs(rise["nonlin_max"]) < abs(rise["lin_norm"]):
        text += " Most of the growth is the linear part."
    else:
        text += " The linear part is not where most of the growth is."
    return text


# --- what the law forces --------------------------------------------------------------------------


def law_floor_text(rows: Sequence[dict], rule: str = "f_n") -> str:
    """What the law of robustness forces on one rule's networks at the largest memorized d, beside
    what was measured there; "" when the rule has no memorized run.

    The law (Bubeck and Sellke 2021) is a lower bound on Lip(f), constants and a log factor
    dropped: sqrt(n d / p) (`core.experiments.robustness_law.law_lower_bound`), about sqrt(d / 10)
    for k = 10n/d. It forces steepness; it does not predict the measured values.
    """
    mem = [r for r in rows if r["rule"] == rule and r["memorized"]]
    if not mem:
        return ""
    d = max(r["d"] for r in mem)
    top = [r for r in mem if r["d"] == d]
    floor = float(np.mean([law_lower_bound(r["n"], r["d"], r["p"]) for r in top]))
    measured = float(np.mean([r["grad_max"] for r in top]))
    return (f"The law is a lower bound: on the {get_width_rule(rule).short} networks it forces "
            f"Lip(f) ≳ √(nd/p) = {floor:.1f} at d = {d} (constants and a log factor dropped); their "
            f"measured maximum gradient there is {measured:.1f}.")
