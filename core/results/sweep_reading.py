"""Reading a random-data sweep: the sqrt(d) fit per width rule, and what it says about the paper.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444) report that the maximum random gradient of
a network that memorizes random labels grows like sqrt(d) when k = 10 n / d (rule "f_n", p ~ 10 n)
and stays roughly flat when k = n (rule "f_nd", p ~ n d). This module turns sweep rows (the shipped
sweep of `core.results.random_data`, or the page's live mini-sweep, same row keys) into numbers a
lecturer can read out: the fitted slope, the fitted value at both ends of the grid, and a verdict
whose criterion is stated, never a hard-coded claim. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.errors import InputError
from core.results.random_data import fit_sqrt_d
from core.specs import get_width_rule

# A rule's fitted maximum gradient is called flat when it changes by less than this fraction
# between the smallest and the largest d of the grid.
FLAT_TOLERANCE = 0.25


@dataclass(frozen=True)
class RuleReading:
    """One width rule's runs, summarised.

    Attributes:
        rule, label: the width rule (core.specs). runs: rows of this rule. memorized: rows that met
        the memorization rule (only those are fitted). d_min, d_max: extent of the memorized runs.
        slope, intercept, r2: least squares grad_max ~ slope sqrt(d) + intercept (None with fewer
        than two distinct d). fitted_low, fitted_high: the fit at d_min and d_max.
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

    @property
    def fitted(self) -> bool:
        return self.slope is not None

    @property
    def relative_change(self) -> float | None:
        """(fit at d_max - fit at d_min) / fit at d_min: 0 for flat, about 6 for sqrt(d) from 10 to 500."""
        if not self.fitted or not self.fitted_low:
            return None
        return (self.fitted_high - self.fitted_low) / abs(self.fitted_low)

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
                       slope * np.sqrt(lo) + intercept, slope * np.sqrt(hi) + intercept)


def read_sweep(rows: Sequence[dict], rules: Sequence[str] = ("f_n", "f_nd")) -> dict[str, RuleReading]:
    """`read_rule` for each rule, in the given order."""
    return {rule: read_rule(rows, rule) for rule in rules}


@dataclass(frozen=True)
class Verdict:
    """How the runs compare with the paper's prediction.

    kind: "as_predicted" (f_n rises, f_nd flat), "ordering_only" (both rise, f_n more steeply),
    "not_separated" (f_n does not rise more steeply than f_nd), or "too_few" (a rule has no fit).
    text: one or two sentences with the numbers. criterion: how `kind` was decided.
    """

    kind: str
    text: str
    criterion: str


def verdict(readings: dict[str, RuleReading], tolerance: float = FLAT_TOLERANCE) -> Verdict:
    """Compare the two rules' fits with the paper's prediction, with the criterion spelled out."""
    criterion = (f"'flat' means the fitted maximum gradient changes by less than {tolerance:.0%} "
                 "between the smallest and the largest d; 'rises more steeply' compares the slopes "
                 "against sqrt(d)")
    small, big = readings.get("f_n"), readings.get("f_nd")
    if small is None or big is None or not small.fitted or not big.fitted:
        return Verdict("too_few", "Too few memorized runs to fit both width rules: nothing to "
                       "compare yet.", criterion)
    rel_small, rel_big = small.relative_change, big.relative_change
    numbers = (f"From d = {small.d_min} to d = {small.d_max} the fitted maximum gradient of f_n goes "
               f"from {small.fitted_low:.2f} to {small.fitted_high:.2f} (slope {small.slope:.3f} per "
               f"unit of sqrt(d), r² = {small.r2:.2f}); that of f_nd from {big.fitted_low:.2f} to "
               f"{big.fitted_high:.2f} (slope {big.slope:.3f}, r² = {big.r2:.2f}).")
    small_rises = small.slope > 0 and rel_small is not None and rel_small >= tolerance
    big_rises = big.slope > 0 and rel_big is not None and rel_big >= tolerance
    big_flat = rel_big is not None and abs(rel_big) < tolerance
    if small_rises and big_flat:
        return Verdict("as_predicted", numbers + " As the paper predicts: f_n rises with sqrt(d), "
                       "f_nd stays flat.", criterion)
    if small.slope > big.slope:
        if small_rises and big_rises:
            tail = (f" Both rise, but f_n rises {small.slope / big.slope:.1f} times as steeply as f_nd: "
                    "the ordering the paper predicts, without f_nd being flat.")
        elif small_rises:
            tail = (" f_n rises while f_nd falls: the ordering the paper predicts, with f_nd going "
                    "down rather than staying flat.")
        else:
            tail = (f" f_n's slope is the larger, as the paper predicts, but over this grid f_n rises "
                    f"by only {rel_small:.0%}: too little to call it growth like sqrt(d).")
        return Verdict("ordering_only", numbers + tail, criterion)
    return Verdict("not_separated", numbers + " Here f_n does not rise more steeply than f_nd: "
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
    return SplitReading(rule, get_width_rule(rule).label, int(d.min()), int(d.max()), fits, at_top,
                        at_top["lin_norm"] / at_top["grad_max"],
                        float(np.median(ratios)) if ratios else float("nan"),
                        float(np.median(cosines)) if cosines else float("nan"))


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
        text += (f" The linear part points along the least-squares slope β of the run's own data "
                 f"(median cosine {split.ls_cos:.2f}; 0 would mean unrelated directions)")
        text += (f" and is a median {split.ls_fraction:.0%} of its length." if np.isfinite(split.ls_fraction)
                 else ".")
    if "grad_max_init" in rise:
        text += (f" At initialization the same probe gives {split.at_d_max['grad_max_init']:.2f} "
                 f"at d = {split.d_max}.")
    if abs(rise["nonlin_max"]) < abs(rise["lin_norm"]):
        text += " Most of the growth is the linear part."
    else:
        text += " The linear part is not where most of the growth is."
    return text
