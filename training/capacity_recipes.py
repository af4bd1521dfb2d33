"""Which adversarial-training recipe lets the small networks learn: a comparison on h = 16, 32, 64.

FGSM with a random start at the full eps = 0.1 from the first step (the recipe shipped before)
leaves the narrow networks at chance: most of their hidden ReLUs die (never active on any test
image) in the first epochs. The usual remedies are compared here on the same networks, seed,
epochs and learning-rate schedule, each measured by clean test accuracy, PGD accuracy at eps 0.1
and dead hidden units (`training.capacity.evaluate_network`):

    cold            FGSM-RS at eps 0.1 from the first step (the old recipe)
    pgd_cold        PGD-10 training at eps 0.1 from the first step (Madry et al. 2018)
    warmup2         2 clean epochs, then FGSM-RS at eps 0.1
    ramp3           FGSM-RS with eps rising linearly from 0 to 0.1 over the first 3 epochs
    warmup1_ramp2   1 clean epoch, then the ramp over 2 epochs
    ramp5           the ramp over 5 epochs

Each recipe trains in its own `<run-dir>/<recipe>/` (checkpointed, resumable; a finished run is
read back, not retrained). The summary goes to `<run-dir>/summary.json`, which the sweep's gathering
call embeds in results.json (`python -m training.capacity ... --recipe-comparison <that file>`).

Usage:
    python -m training.capacity_recipes --data-dir ../shared/data            # ~10 min on 2 cores
    python -m training.capacity_recipes --smoke                                # tiny, < 1 min
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from core.data import mnist_root
from training import cli
from training.capacity import AdvConfig, Data, EvalConfig, Job, RunConfig, load_data, run_job
from training.runinfo import device_description, provenance_record, resolve_device

COMMAND = "python -m training.capacity_recipes"
WIDTHS = (16, 32, 64)
RECIPES: dict[str, dict] = {
    "cold": {"warmup_epochs": 0, "ramp_epochs": 0},
    "pgd_cold": {"warmup_epochs": 0, "ramp_epochs": 0, "method": "pgd"},
    "warmup2": {"warmup_epochs": 2, "ramp_epochs": 0},
    "ramp3": {"warmup_epochs": 0, "ramp_epochs": 3},
    "warmup1_ramp2": {"warmup_epochs": 1, "ramp_epochs": 2},
    "ramp5": {"warmup_epochs": 0, "ramp_epochs": 5},
}
PGD_WIDTHS = (16, 32)  # PGD training costs ten times FGSM's: the two narrowest suffice to show it


def compare(data_dir: Path, run_dir: Path, widths: tuple[int, ...], recipes: dict[str, dict],
            base: AdvConfig, evaluation: EvalConfig, device: torch.device, threads: int,
            train_size: int | None = None) -> list[dict]:
    """Train (or read back) every recipe on every width; one row per (recipe, width)."""
    torch.set_num_threads(threads)
    cfg = RunConfig(jobs=(), adversarial=base, evaluation=evaluation, data_dir=data_dir, run_dir=run_dir,
                    out=None, shipped_root=Path("pretrained"), train_size=train_size, threads=threads)
    data: Data = load_data(cfg, device)
    rows = []
    for name, changes in recipes.items():
        adv = replace(base, **changes)
        for h in widths:
            if adv.method == "pgd" and h not in PGD_WIDTHS:
                continue
            out = run_job(Job("adversarial", h), replace(cfg, adversarial=adv, run_dir=run_dir / name), data, device)
            res = out["record"]["results"]
            rows.append({"recipe": name, "hidden": h, "config": asdict(adv),
                         "test_accuracy": res["test_accuracy"], "pgd_accuracy": res["pgd"][-1]["accuracy"],
                         "pgd_eps": res["pgd"][-1]["eps"], "dead_units": res["dead_units"],
                         "wall_s": out["record"]["training"]["wall_s"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    cli.add_data_dir(p)
    p.add_argument("--run-dir", default=None, help="default: runs/recipes (runs/recipes_smoke with --smoke)")
    cli.add_device(p, threads=1)
    cli.add_smoke(p, "widths 16 and 32, 2,000 training images, 2 epochs, 200 test images")
    args = p.parse_args(argv)

    def go() -> int:
        from core.files import atomic_write_json

        t0 = time.perf_counter()
        smoke = args.smoke
        run_dir = Path(args.run_dir or ("runs/recipes_smoke" if smoke else "runs/recipes"))
        cli.refuse_smoke_into_shipped(run_dir, smoke, "--run-dir")
        device = resolve_device(args.device)
        base = AdvConfig(epochs=2 if smoke else 10, check_size=200 if smoke else 1000,
                         train_size=2000 if smoke else None)
        evaluation = EvalConfig(pgd_subset=100 if smoke else 1000, test_size=200 if smoke else None,
                                pgd_steps=3 if smoke else 10, autoattack_size=0)
        rows = compare(mnist_root(args.data_dir), run_dir, (16, 32) if smoke else WIDTHS, RECIPES, base,
                       evaluation, device, args.threads, train_size=base.train_size)
        summary = {"description": __doc__.split("\n\n")[1].replace("\n", " "),
                   "chosen": "ramp3", "rows": rows,
                   "evaluation": {"test_images": 200 if smoke else 10_000,
                                  "pgd": f"{evaluation.pgd_steps} steps at eps 0.1 on a seeded subset of "
                                         f"{evaluation.pgd_subset} test images"},
                   **provenance_record(" ".join([COMMAND, *argv]), device, threads=args.threads, smoke=smoke,
                                       started=t0)}
        atomic_write_json(run_dir / "summary.json", summary)
        for r in rows:
            print(f"{r['recipe']:>14} h={r['hidden']:<3} clean {r['test_accuracy']:.4f}  PGD@0.1 "
                  f"{r['pgd_accuracy']:.4f}  dead {r['dead_units']}/{r['hidden']}")
        print(f"wrote {run_dir / 'summary.json'} on {device_description(device)}")
        return 0

    return cli.run_main(go)


if __name__ == "__main__":
    sys.exit(main())
