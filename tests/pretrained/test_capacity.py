"""What `pretrained/capacity/` ships (the full run of `python -m training.capacity`): complete,
checked, not a smoke run, within the size budget, and its float16 weights give the accuracies
recorded for them."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.results.pretrained as pretrained
from core.results import capacity as cr
from core.specs import CAPACITY_WIDTHS, MNIST_MODELS, capacity_spec
from tests.training.test_capacity import check_adversarial_files

SIZE_BUDGET = 40 * 2**20  # bytes of the whole pretrained/ folder


@pytest.fixture(scope="module")
def root() -> Path:
    root = Path(pretrained.PRETRAINED_DIR)
    if not (cr.capacity_dir(root) / cr.RESULTS_FILE).is_file():
        pytest.fail(f"no capacity results in {cr.capacity_dir(root)}: run `{cr.REGENERATE_CAPACITY}`")
    return root


def test_the_shipped_sweep_is_complete_and_full_size(root):
    doc = cr.load_capacity_results(root)  # every file against manifest.json
    assert doc["provenance"]["smoke"] is False
    assert doc["n_train"] == 60000 and doc["test_set"]["n"] == 10000
    assert len(cr.eps_grid(doc)) == 20 and cr.eps_grid(doc)[-1] == pytest.approx(0.1)
    assert doc["settings"]["pgd"]["steps"] >= 10
    names = {n["name"] for n in doc["networks"]}
    for h in CAPACITY_WIDTHS:
        assert {f"standard_h{h}", f"adversarial_h{h}"} <= names
    assert "zero_loss_f_n" in names
    for net in doc["networks"]:
        assert net["param_count"] == capacity_spec(net["hidden"]).param_count
        assert net["training"]["wall_s"] > 0 and net["training"]["device"]
        assert all(p["n"] == doc["settings"]["pgd"]["subset_size"] for p in net["results"]["pgd"])
        if net["kind"] == "adversarial":
            assert net["training"]["config"]["eps"] == 0.1
            assert len(net["training"]["history"]) == net["training"]["epochs"]
    # f_n and f_nd are the shipped models, not retrained: their weights' checksums match.
    for name, spec in MNIST_MODELS.items():
        std = next(n for n in doc["networks"] if n["name"] == f"standard_h{spec.hidden}")
        meta = pretrained.model_metadata(name, root)
        assert std["training"]["weights_sha256"] == meta["sha256"][spec.weights_file]
        assert std["results"]["test_accuracy"] == meta["results"]["test_accuracy"]


def test_the_shipped_f_n_and_f_nd_curves_match_the_mnist_sweeps(root):
    """Same weights, same FGSM grid and test set: the capacity sweep reproduces sweeps.json, up to
    a few images whose gradient has components at rounding level (their sign, and so FGSM's step,
    depends on the summation order of the thread count)."""
    doc = cr.load_capacity_results(root)
    sweeps = pretrained.load_mnist_sweeps(root)
    for name, spec in MNIST_MODELS.items():
        std = next(n for n in doc["networks"] if n["name"] == f"standard_h{spec.hidden}")
        ours = [p["accuracy"] for p in std["results"]["fgsm"]]
        theirs = [p["accuracy"] for p in sweeps["models"][name]["fgsm"]]
        assert ours == pytest.approx(theirs, abs=2e-3)
        assert ours[0] == theirs[0]  # eps = 0: the clean accuracy, exactly


@pytest.mark.parametrize("base", list(MNIST_MODELS))
def test_the_float16_weights_give_the_recorded_accuracies(root, base, mnist_root):
    check_adversarial_files(root, base, mnist_root)


def test_pretrained_stays_within_its_size_budget(root):
    total = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())
    assert total < SIZE_BUDGET, f"pretrained/ holds {total / 2**20:.1f} MiB, over the 40 MB budget"


def test_every_network_is_attacked_with_autoattack_and_every_adversarial_width_has_three_seeds(root):
    doc = cr.load_capacity_results(root)
    aa = doc["settings"]["autoattack"]
    assert aa["images"] >= 1000 and aa["eps"] == pytest.approx(0.1) and aa["iterations"] >= 100
    for net in doc["networks"]:
        if net["kind"] not in cr.TRAINING_KINDS:
            continue
        record = cr.autoattack(net)
        assert record is not None, f"{net['name']} has no AutoAttack record"
        assert record["n"] == aa["images"] and record["eps"] == pytest.approx(0.1)
        # AutoAttack is the stronger attack: on its own images it never leaves more than PGD does,
        # up to the agreement the live test checks (tests/training/test_autoattack.py).
        assert record["accuracy"] <= record["pgd_accuracy"] + cr.AGREEMENT_POINTS / 100
    for group in cr.by_width(doc, "adversarial"):
        assert len(group) >= 3, f"h = {group[0]['hidden']}: {len(group)} seeds"
        assert len({n["seed"] for n in group}) == len(group)
        for net in group:
            assert 0 <= net["results"]["dead_units"] <= net["hidden"]
            assert net["training"]["config"]["ramp_epochs"] == doc["settings"]["adversarial_training"]["ramp_epochs"]


def test_the_old_recipe_is_kept_as_numbers_and_the_recipe_comparison_is_embedded(root):
    doc = cr.load_capacity_results(root)
    cold = doc["cold_start"]["networks"]
    assert {n["hidden"] for n in cold} == set(CAPACITY_WIDTHS)
    # The cold start: the full eps from the first step, no ramp, no warm-up.
    assert all(not n["training"]["config"].get("ramp_epochs") and not n["training"]["config"].get("warmup_epochs")
               for n in cold)
    comparison = doc["recipe_comparison"]
    assert comparison["chosen"] in {r["recipe"] for r in comparison["rows"]}
    assert {r["hidden"] for r in comparison["rows"]} >= {16, 32}
    assert comparison["smoke"] is False and comparison["device"]


def test_the_readmes_capacity_numbers_are_the_shipped_sweeps(root):
    """The README's capacity table and its sentences with numbers are `core.results.capacity_text`'s
    on the shipped results, verbatim (up to line breaks)."""
    from core.results import capacity_text as ct
    from core.results.mnist import TALK_CLEAN

    def flat(text: str) -> str:
        return " ".join(text.split())

    readme = flat((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8"))
    doc = cr.load_capacity_results(root)
    talk = {name: loss for name, (_, loss) in TALK_CLEAN.items()}
    pieces = [cr.readme_table(doc), ct.recipe(doc), ct.findings(doc, 0.1)[0], ct.slide_claim(doc),
              *ct.autoattack_findings(doc), ct.what_changed(doc), ct.recipe_choice(doc),
              *ct.zero_loss_findings(doc, talk, 0.1), ct.sweep_sentence(doc)]
    for piece in pieces:
        assert piece and flat(piece) in readme, "README's capacity section differs from the shipped results:\n" + piece
