"""core.results.capacity on made-up sweeps: the sentences follow the data, whatever it says."""

from __future__ import annotations

import pytest

from core.results import capacity as cr
from core.results import capacity_text as ct
from core.specs import capacity_spec

GRID = [0.0, 0.05, 0.1]


def net(kind: str, h: int, train: float, test: float, pgd: list[float], overfit=None) -> dict:
    return {
        "name": f"{kind}_h{h}", "kind": kind, "hidden": h, "param_count": capacity_spec(h).param_count,
        "model": capacity_spec(h).name,
        "training": {"epochs": 3, "rule_met": train == 1.0, "catastrophic_overfitting_epoch": overfit},
        "results": {"train_accuracy": train, "train_loss": 0.1, "test_accuracy": test, "test_loss": 0.2,
                    "fgsm": [{"eps": e, "accuracy": max(a, 0.0) + 0.01} for e, a in zip(GRID, pgd)],
                    "pgd": [{"eps": e, "accuracy": a} for e, a in zip(GRID, pgd)],
                    "max_gradient_norm": 1.0},
    }


def doc(nets: list[dict]) -> dict:
    return {"n_train": 60000, "grids": {"eps": GRID}, "networks": nets}


def test_sentences_name_the_memorization_threshold_and_the_trends():
    d = doc([net("standard", 16, 0.97, 0.95, [0.95, 0.2, 0.01]),
             net("standard", 151, 1.0, 0.98, [0.98, 0.3, 0.02]),
             net("adversarial", 16, 0.80, 0.80, [0.80, 0.5, 0.30]),
             net("adversarial", 151, 0.99, 0.98, [0.98, 0.9, 0.85])])
    text = " ".join(ct.findings(d, 0.1))
    assert "from h = 151 (p = 120,055" in text and "narrower net stops short at 97.0%" in text
    assert "adversarial training, PGD accuracy at eps = 0.100 rises with width: 30.0% at h = 16 and 85.0%" in text
    assert "+83.0 points (h = 151)" in text and "+29.0 points (h = 16)" in text
    assert "No adversarial run showed catastrophic overfitting" in text
    assert "47,040,000" in text


def test_sentences_follow_data_that_contradicts_the_expected_story():
    d = doc([net("standard", 16, 0.9, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 3774, 0.95, 0.9, [0.9, 0.3, 0.1]),
             net("adversarial", 16, 0.9, 0.9, [0.9, 0.8, 0.7]),
             net("adversarial", 3774, 0.9, 0.9, [0.9, 0.4, 0.2], overfit=4)])
    text = " ".join(ct.findings(d, 0.1))
    assert "No width up to h = 3,774 fits every training image" in text
    assert "adversarial training, PGD accuracy at eps = 0.100 falls with width" in text
    assert "detected at h = 3774" in text
    assert "At eps = 0 the attacks do nothing" in " ".join(ct.findings(d, 0.0))


def test_rows_pick_the_nearest_grid_eps():
    d = doc([net("standard", 16, 0.9, 0.9, [0.9, 0.5, 0.4]), net("adversarial", 16, 0.9, 0.9, [0.9, 0.8, 0.7])])
    rows = cr.sweep_rows(d, 0.06)
    assert {r["eps"] for r in rows} == {0.05}
    pgd = {r["training"]: r["accuracy"] for r in rows if r["measure"] == cr.MEASURE_LABELS["PGD"]}
    assert pgd == {"standard": 0.5, "adversarial": 0.8}
    # AutoAttack was not measured on these networks: no row claims it.
    assert len(rows) == 2 * (len(cr.MEASURES) - 1)
    assert cr.MEASURE_LABELS["AutoAttack"] not in {r["measure"] for r in rows}
    with pytest.raises(Exception):
        cr.eps_index(d, float("nan"))


def test_the_threshold_is_where_every_wider_net_fits():
    d = doc([net("standard", 16, 1.0, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 32, 0.99, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 64, 1.0, 0.9, [0.9, 0.5, 0.4]),
             net("standard", 151, 1.0, 0.9, [0.9, 0.5, 0.4])])
    text = ct.findings(d, 0.1)[0]
    assert text.startswith("Standard training fits every training image from h = 64 (p = 50,890, 0.85 n)")
    assert "(h = 16 also fits it)" in text and "narrower net stops short at 99.0%" in text


def test_a_net_that_learned_nothing_is_named():
    d = doc([net("standard", 16, 0.97, 0.95, [0.95, 0.2, 0.01]),
             net("standard", 151, 1.0, 0.98, [0.98, 0.3, 0.02]),
             net("adversarial", 16, 0.1124, 0.1135, [0.1135, 0.1135, 0.1135]),
             net("adversarial", 151, 0.99, 0.98, [0.98, 0.9, 0.85])])
    text = " ".join(ct.findings(d, 0.1))
    assert "At h = 16 adversarial training did not get off the ground: clean training accuracy 11.2%" in text
    assert "h = 151 adversarial" not in text


def seeded(kind: str, h: int, seed: int, test: float, pgd: float, dead: int = 0, aa: float | None = None,
           pgd_same: float | None = None, train: float | None = None) -> dict:
    """A network of one seed, with dead units and (optionally) an AutoAttack record at eps 0.1."""
    n = net(kind, h, test if train is None else train, test, [test, (test + pgd) / 2, pgd])
    n["name"] += f"_seed{seed}" if seed else ""
    n["seed"] = seed
    n["results"]["dead_units"] = dead
    if aa is not None:
        n["results"]["autoattack"] = {"accuracy": aa, "eps": 0.1, "n": 1000, "clean_accuracy": test,
                                      "pgd_accuracy": pgd if pgd_same is None else pgd_same}
    return n


def ramped(nets: list[dict]) -> dict:
    d = doc(nets)
    d["settings"] = {"adversarial_training": {"method": "fgsm_rs", "eps": 0.1, "epochs": 10, "ramp_epochs": 3,
                                              "warmup_epochs": 0}}
    return d


def test_seeds_are_read_as_mean_and_range_on_the_figure_and_in_the_sentences():
    nets = [seeded("standard", 16, 0, 0.95, 0.01, aa=0.0), seeded("standard", 151, 0, 0.98, 0.05, aa=0.04)]
    nets += [seeded("adversarial", 16, s, 0.90, p, dead=s, aa=p - 0.01) for s, p in enumerate((0.60, 0.66, 0.72))]
    nets += [seeded("adversarial", 151, s, 0.95, p, aa=p - 0.02) for s, p in enumerate((0.80, 0.81, 0.85))]
    d = ramped(nets)
    rows = {(r["training"], r["hidden"], r["measure"]): r for r in cr.sweep_rows(d, 0.1)}
    pgd16 = rows["adversarial", 16, cr.MEASURE_LABELS["PGD"]]
    assert pgd16["accuracy"] == pytest.approx(0.66) and (pgd16["low"], pgd16["high"], pgd16["seeds"]) == (0.60, 0.72, 3)
    assert rows["adversarial", 151, cr.MEASURE_LABELS["AutoAttack"]]["accuracy"] == pytest.approx(0.80)
    # AutoAttack has one eps: at another the figure leaves it out rather than mislabel it.
    assert cr.MEASURE_LABELS["AutoAttack"] not in {r["measure"] for r in cr.sweep_rows(d, 0.05)}
    text = " ".join(ct.findings(d, 0.1))
    assert "66.0% (60.0%-72.0%) at h = 16" in text and "3 seeds per width" in text
    assert "eps rising linearly from 0 to 0.1 over the first 3 adversarial epochs" in text
    # Dead units: the worst width's mean fraction (1 of 16 on average at h = 16).
    assert "at most 6.2% of a width's units on average (h = 16)" in text
    summary = {(r["training"], r["hidden"]): r for r in cr.summary_rows(d, 0.1)}
    assert summary["adversarial", 16]["dead units (max)"] == pytest.approx(2 / 16)
    assert summary["adversarial", 16]["AutoAttack (min)"] == pytest.approx(0.59)
    # The slide's claim comes from the same numbers.
    # AutoAttack, the strongest attack, where every network has it; PGD where one lacks it.
    claim = ct.slide_claim(d)
    assert "works at every width, 65.0% at h = 16 to 80.0% at h = 151" in claim
    assert "at most 4.0% under AutoAttack at eps = 0.1" in claim
    del d["networks"][0]["results"]["autoattack"]
    claim = ct.slide_claim(d)
    assert "works at every width, 66.0% at h = 16 to 82.0% at h = 151" in claim
    assert "at most 5.0% under PGD at eps = 0.1" in claim
    failed = ramped([seeded("standard", 16, 0, 0.95, 0.01), seeded("adversarial", 16, 0, 0.11, 0.1),
                     seeded("adversarial", 64, 0, 0.9, 0.7)])
    assert "fails at h = 16 and needs width" in ct.slide_claim(failed)


def test_autoattack_sentence_says_whether_the_pgd_curves_can_be_trusted():
    close = ramped([seeded("standard", 16, 0, 0.95, 0.01, aa=0.0, pgd_same=0.01),
                    seeded("adversarial", 16, 0, 0.9, 0.7, aa=0.69, pgd_same=0.70),
                    seeded("adversarial", 64, 0, 0.95, 0.8, aa=0.785, pgd_same=0.80)])
    text = " ".join(ct.autoattack_findings(close))
    assert "at most 1.5 points more than AutoAttack (h = 64, adversarial, seed 0)" in text
    assert "can be trusted to within that" in text and "1,000 test images at eps = 0.1" in text
    far = ramped([seeded("adversarial", 16, 0, 0.9, 0.7, aa=0.6, pgd_same=0.7),
                  seeded("adversarial", 64, 0, 0.95, 0.8, aa=0.79, pgd_same=0.80)])
    for n, ce in zip(far["networks"], (0.69, 0.80)):
        n["results"]["autoattack"]["after_apgd_ce"] = ce
    text_far = " ".join(ct.autoattack_findings(far))
    assert "at most 10.0 points more than AutoAttack (h = 16, adversarial, seed 0)" in text_far
    assert "more than 2 points at h = 16, adversarial, within 2 points for every other network" in text_far
    assert "Read the PGD curves there as upper bounds" in text_far
    assert "APGD-CE alone, which like PGD follows the cross-entropy, leaves at most 1.0 points less" in text_far
    assert ct.autoattack_findings(doc([net("standard", 16, 0.9, 0.9, [0.9, 0.5, 0.4])])) == []
    assert "every network of the sweep" in text
    part = ramped(close["networks"] + [seeded("standard", 64, 0, 0.97, 0.01)])
    assert "3 of the sweep's 4 networks" in " ".join(ct.autoattack_findings(part))


def test_the_law_is_a_heuristic_on_mnist_and_n_d_eff_is_placed_on_the_sweep():
    d = ramped([seeded("standard", h, 0, 0.95, 0.01) for h in (16, 600, 1200, 3774)])
    last = ct.findings(d, 0.1, intrinsic_dim=12.45)[-1]
    assert "heuristic" in last and "p = nd = 47,040,000 lies 16 times further right" in last
    assert "n·d_eff ≈ 747,000 lies inside the sweep, between h = 600 and h = 1,200" in last
    assert "outside the sweep" in ct.findings(d, 0.1, intrinsic_dim=2000.0)[-1]
    assert "d_eff" not in ct.findings(d, 0.1)[-1]


def test_what_changed_quotes_the_cold_start_and_the_recipe_comparison():
    d = ramped([seeded("adversarial", 16, 0, 0.9, 0.66)])
    assert ct.what_changed(d) == ""  # nothing to compare with
    old = net("adversarial", 16, 0.112, 0.1135, [0.11, 0.11, 0.121])
    d["cold_start"] = {"source": "results.json of 2026-11-27 (command)", "grids": {"eps": GRID}, "networks": [old]}
    d["recipe_comparison"] = {"chosen": "ramp3", "rows": [
        {"recipe": "cold", "hidden": 16, "test_accuracy": 0.1135, "pgd_accuracy": 0.106, "pgd_eps": 0.1, "dead_units": 15},
        {"recipe": "ramp3", "hidden": 16, "test_accuracy": 0.9028, "pgd_accuracy": 0.663, "pgd_eps": 0.1, "dead_units": 1}]}
    text = ct.what_changed(d)
    assert "(results.json of 2026-11-27)" in text and "At h = 16 that never left chance (11.3% clean" in text
    assert "left 15 of 16 hidden units dead" in text
    assert "h = 16: 90.3% clean, 66.3% under PGD, 1 dead (seed 0; 2 recipes compared" in text
    assert "PGD at eps = 0.1: 12.1% to 12.1%" in text
    rows = cr.cold_start_rows(d, 0.1)
    assert rows == [{"hidden": 16, "cold start: clean": 0.1135, "cold start: PGD": 0.121,
                     "this sweep: clean (mean)": 0.9, "this sweep: PGD (mean)": 0.66}]
    assert [r["dead hidden units"] for r in cr.recipe_rows(d)] == ["15 of 16", "1 of 16"]


def test_the_sweep_sentence_quotes_its_record_and_is_empty_without_one():
    d = doc([])
    assert ct.sweep_sentence(d) == ""
    d["sweep"] = {"trained_networks": 30, "devices": ["cpu: x86_64, 1 threads"], "training_wall_s_sum": 9000.0,
                  "autoattack_wall_s_sum": 1800.0, "last_training_finished": "2026-12-07T02:01:00+00:00"}
    d["networks"] = [seeded("adversarial", 16, s, 0.9, 0.7, aa=0.65) for s in range(3)]
    for n in d["networks"][:2]:
        n["results"]["autoattack"]["seconds"] = 900.0
    assert ct.sweep_sentence(d) == ("The 30 networks trained for this sweep took 2.5 h of training, and AutoAttack "
                                    "on 2 networks took 30 min, summed over networks, on cpu: x86_64, 1 threads; "
                                    "the last finished training on 2026-12-07.")


def comparison_row(recipe: str, h: int, pgd: float, clean: float = 0.9, dead: int = 1, warmup=0, ramp=0,
                   method="fgsm_rs") -> dict:
    return {"recipe": recipe, "hidden": h, "test_accuracy": clean, "pgd_accuracy": pgd, "pgd_eps": 0.1,
            "dead_units": dead,
            "config": {"warmup_epochs": warmup, "ramp_epochs": ramp, "epochs": 10, "method": method}}


def test_the_recipe_choice_reads_the_comparison_width_by_width():
    d = doc([])
    assert ct.recipe_choice(d) == ""
    d["recipe_comparison"] = {"chosen": "ramp3", "rows": [
        comparison_row("cold", 16, 0.106, clean=0.1135, dead=15),
        comparison_row("pgd_cold", 16, 0.106, clean=0.1135, dead=11, method="pgd"),
        comparison_row("warmup2", 16, 0.662, warmup=2), comparison_row("warmup2", 32, 0.720, warmup=2),
        comparison_row("ramp3", 16, 0.663, ramp=3), comparison_row("ramp3", 32, 0.708, ramp=3)]}
    text = ct.recipe_choice(d)
    assert "The 2 recipes that ease in (2 clean epochs; a 3-epoch eps ramp)" in text
    assert "66.2% to 66.3% at h = 16, 70.8% to 72.0% at h = 32: at most 1.2 points apart" in text
    assert "The sweep uses a 3-epoch eps ramp: the best of them at h = 16, within 1.2 points of the best at h = 32" in text
    assert "all 10 epochs train against the attack" in text
    assert "11.3% clean accuracy with 11 of 16 units dead at h = 16" in text
    # A chosen recipe with clean epochs does not claim that every epoch is adversarial.
    d["recipe_comparison"]["chosen"] = "warmup2"
    text = ct.recipe_choice(d)
    assert "The sweep uses 2 clean epochs: the best of them at h = 32, within 0.1 points of the best at h = 16" in text
    assert "against the attack" not in text


def test_the_slide_caption_names_recipe_seeds_attacks_and_images():
    d = ramped([])
    d["settings"].update({"adversarial_seeds": [0, 1, 2], "pgd": {"steps": 10, "subset_size": 2000},
                          "autoattack": {"images": 1000}})
    assert ct.slide_caption(d) == ("Dashed: adversarial training, FGSM with a random start and a 3-epoch eps "
                                   "ramp, 3 seeds per width. PGD (10 steps) on 2,000 test images, AutoAttack "
                                   "on 1,000.")
    d["settings"]["autoattack"] = {"images": 0}
    d["settings"]["adversarial_training"].update({"ramp_epochs": 0, "warmup_epochs": 2})
    assert ct.slide_caption(d).endswith("and 2 clean epochs, 3 seeds per width. PGD (10 steps) on 2,000 test images.")
