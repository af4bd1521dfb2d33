"""training.loop: the resumable epoch loop of training.mnist and training.capacity, on a tiny model."""

from __future__ import annotations

import pytest
import torch

from core.errors import InputError
from training.loop import CHECKPOINT_FILE, EpochReport, Schedule, load_checkpoint, train_epochs


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, generator=gen)
    return x, (x[:, 0] > 0).long()


def _run(folder, max_epochs, target=0.0, resume_key=None, **kw):
    """A linear classifier trained until its training accuracy reaches `target` (0: never stops)."""
    x, y = _data()
    torch.manual_seed(1)
    model = torch.nn.Linear(5, 2)

    def measure(record, history, state):
        with torch.no_grad():
            acc = float((model(x).argmax(1) == y).float().mean())
        record["train_accuracy"] = acc
        state["met"] = target > 0 and acc >= target
        state["epochs_seen"] = len(history) + 1  # the history holds the earlier epochs only
        return EpochReport(f"acc {acc:.3f}", {"acc": f"{acc:.3f}"})

    run = train_epochs(model, x, y, folder, Schedule(seed=0, lr=0.05, lr_decay=0.5, batch_size=16,
                                                     max_epochs=max_epochs),
                       label="tiny", model_name="tiny", resume_key=resume_key or {"lr": 0.05},
                       after_epoch=measure, stopped=lambda state: state["met"],
                       state={"met": False, "epochs_seen": 0}, **kw)
    return model, run


def test_the_schedule_and_the_history(tmp_path):
    model, run = _run(tmp_path, 3)
    assert run.epochs == 3 and not run.stopped and not model.training
    assert [h["lr"] for h in run.history] == pytest.approx([0.05, 0.025, 0.0125])  # lr * decay ** epoch
    assert [h["epoch"] for h in run.history] == [1, 2, 3] and run.state["epochs_seen"] == 3
    assert all({"running_loss", "train_accuracy", "seconds"} <= set(h) for h in run.history)
    ckpt = load_checkpoint(tmp_path / CHECKPOINT_FILE)
    assert ckpt["epoch"] == 3 and ckpt["met"] is False and ckpt["epochs_seen"] == 3


def test_a_killed_run_resumes_exactly(tmp_path):
    whole, _ = _run(tmp_path / "a", 3)
    _run(tmp_path / "b", 1)  # "killed" after one epoch
    torch.manual_seed(99)  # the global generator is part of the checkpoint: this must not matter
    resumed, run = _run(tmp_path / "b", 3)
    assert run.epochs == 3 and len(run.history) == 3
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_the_stopping_rule_stops_and_holds_on_resume(tmp_path):
    _, run = _run(tmp_path, 50, target=0.9)
    assert run.stopped and run.epochs < 50
    _, again = _run(tmp_path, 50, target=0.9)  # already stopped: no epoch is added
    assert again.epochs == run.epochs and again.stopped


def test_other_settings_are_refused_with_the_fix(tmp_path):
    _run(tmp_path, 1)
    with pytest.raises(InputError, match="--no-resume"):
        _run(tmp_path, 2, resume_key={"lr": 0.1})
    _, fresh = _run(tmp_path, 1, resume_key={"lr": 0.1}, resume=False)  # --no-resume starts over
    assert fresh.epochs == 1
