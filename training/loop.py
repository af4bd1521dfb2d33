"""The resumable epoch loop of the MNIST training scripts (training.mnist, training.capacity).

One loop, like nanoGPT's train.py but resumable: Adam over shuffled mini-batches, the learning rate
set to lr * lr_decay ** epoch at the start of each epoch (a schedule that does not depend on the
epoch cap, so a run resumed with a larger cap continues exactly as an uninterrupted one would), a
tqdm bar over epochs with an inner bar showing the current loss, and after every epoch the
script's measurements (`after_epoch`), its stopping rule (`stopped`) and an atomic checkpoint.

The checkpoint (`<folder>/checkpoint.pt`, `torch.save` of tensors and plain types, read back with
`torch.load(weights_only=True)`) holds the model, the optimizer, the shuffling, torch's and the
script's own random generators, the history and the script's state; a killed run continues from
it exactly. A checkpoint made with other settings (`resume_key`) is refused with the fix.

    result = train_epochs(model, x, y, folder, schedule, label="f_n", resume_key=cfg.resume_key(),
                          after_epoch=measure, stopped=lambda state: state["rule_met"],
                          state={"rule_met": False})
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from core.errors import InputError, ModelFileError
from core.files import atomic_write_bytes

CHECKPOINT_FILE = "checkpoint.pt"

# One optimizer step on a batch, returning its loss: plain cross-entropy, or an adversarial step.
Step = Callable[[torch.nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor], float]


@dataclass(frozen=True)
class Schedule:
    """How the epochs run.

    Attributes:
        seed: seeds the shuffling generator. lr: Adam's initial learning rate. lr_decay: factor per
        epoch (lr_e = lr * lr_decay ** e). batch_size: images per step. max_epochs: the cap.
    """

    seed: int
    lr: float
    lr_decay: float
    batch_size: int
    max_epochs: int


@dataclass
class EpochReport:
    """What `after_epoch` says of an epoch: `text` for its log line, `postfix` for the epoch bar."""

    text: str
    postfix: dict[str, str] = field(default_factory=dict)


@dataclass
class LoopResult:
    """Where a run stands: epochs done, their history (one dict per epoch), the training wall time
    over every process that added epochs, whether `stopped` held, and the script's state."""

    epochs: int
    history: list[dict]
    wall_s: float
    stopped: bool
    state: dict[str, Any]


def checkpoint_bytes(state: dict) -> bytes:
    """`torch.save` of a checkpoint's dict, as bytes for `core.files.atomic_write_bytes`."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint with `torch.load(weights_only=True)`; damage raises `ModelFileError`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, unpickling refused, ...
        raise ModelFileError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}: {str(exc)[:200]}); delete it "
            "or pass --no-resume to start the model from scratch"
        ) from None


def checkpoint_epoch(folder: Path) -> int:
    """Epochs already in the checkpoint of `folder` (0 when there is none)."""
    path = Path(folder) / CHECKPOINT_FILE
    return int(load_checkpoint(path)["epoch"]) if path.is_file() else 0


def cross_entropy_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                       y: torch.Tensor) -> float:
    """One Adam step on the mean cross-entropy of the batch; returns the loss."""
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


@torch.no_grad()
def full_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
              batch_size: int = 2000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model over (x, y), in eval mode."""
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])
        yb = y[start : start + batch_size]
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    return loss / len(x), correct / len(x)


def train_epochs(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    folder: Path,
    schedule: Schedule,
    *,
    label: str,
    model_name: str,
    resume_key: dict,
    after_epoch: Callable[[dict, list[dict], dict[str, Any]], EpochReport],
    stopped: Callable[[dict[str, Any]], bool],
    state: dict[str, Any] | None = None,
    generators: dict[str, torch.Generator] | None = None,
    step: Step = cross_entropy_step,
    loss_key: str = "running_loss",
    stop_note: str = "stopping",
    resume: bool = True,
) -> LoopResult:
    """Train `model` on (x, y) epoch by epoch until `stopped(state)` or the cap, checkpointing each.

    Args:
        model: on x's device, freshly initialized (a resumed run loads its weights).
        x, y: the training set on the device (float32 [N, ...], int64 [N]).
        folder: where the checkpoint goes (created). schedule: seed, lr, decay, batch size, cap.
        label: the name in the bars and log lines. model_name, resume_key: what a checkpoint must
            match to be continued (else InputError naming --no-resume).
        after_epoch(record, history, state): the script's measurements after an epoch: adds them
            to the epoch's record ({"epoch", "lr", loss_key}; `history` holds the earlier epochs'),
            updates `state`, returns an `EpochReport`.
        stopped(state): the stopping rule, read after every epoch and on resuming.
        state: the script's own state, saved in (and restored from) the checkpoint, one key each.
        generators: the script's own random generators (saved as `<name>` states).
        step: one optimizer step on a batch (default: cross-entropy). loss_key: the history key of
            the epoch's mean step loss. stop_note: appended to the log line when the rule stops.
        resume: continue from the checkpoint in `folder` when there is one.
    The model is left in eval mode.
    """
    ckpt_path = Path(folder) / CHECKPOINT_FILE
    opt = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    shuffle = torch.Generator().manual_seed(schedule.seed)
    generators = dict(generators or {})
    state = dict(state or {})
    epoch, history, wall = 0, [], 0.0

    if resume and ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        if ckpt.get("resume_key") != resume_key or ckpt.get("model_name") != model_name:
            raise InputError(
                f"checkpoint {ckpt_path} was made with other settings ({ckpt.get('resume_key')}); "
                f"this run asks for {resume_key}: pass --no-resume to start over, or another --run-dir"
            )
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        shuffle.set_state(ckpt["shuffle_rng"])
        if "torch_rng" in ckpt:
            torch.set_rng_state(ckpt["torch_rng"])
        for name, gen in generators.items():
            gen.set_state(ckpt[name])
        state.update({key: ckpt[key] for key in state})
        epoch, history, wall = int(ckpt["epoch"]), list(ckpt["history"]), float(ckpt["wall_s"])
        tqdm.write(f"[{label}] resumed from {ckpt_path} after epoch {epoch}")

    n = len(x)
    steps = math.ceil(n / schedule.batch_size)
    bar = tqdm(total=schedule.max_epochs, initial=min(epoch, schedule.max_epochs), desc=label,
               unit="epoch", dynamic_ncols=True)
    while not stopped(state) and epoch < schedule.max_epochs:
        t0 = time.perf_counter()
        lr = schedule.lr * schedule.lr_decay**epoch
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        perm = torch.randperm(n, generator=shuffle).to(x.device)
        running = 0.0
        inner = tqdm(range(steps), desc=f"{label} epoch {epoch + 1}", leave=False, dynamic_ncols=True,
                     mininterval=1.0)
        for i in inner:
            idx = perm[i * schedule.batch_size : (i + 1) * schedule.batch_size]
            value = step(model, opt, x[idx], y[idx])
            running += value
            if i % 20 == 0:
                inner.set_postfix(loss=f"{value:.3g}", refresh=False)
        inner.close()
        epoch += 1
        record = {"epoch": epoch, "lr": lr, loss_key: running / steps}
        report = after_epoch(record, history, state)
        seconds = time.perf_counter() - t0
        wall += seconds
        history.append({**record, "seconds": seconds})
        atomic_write_bytes(ckpt_path, checkpoint_bytes({
            "model_name": model_name, "resume_key": resume_key, "epoch": epoch,
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "shuffle_rng": shuffle.get_state(), "torch_rng": torch.get_rng_state(),
            **{name: gen.get_state() for name, gen in generators.items()},
            "history": history, "wall_s": wall, **state,
        }))
        bar.update(1)
        bar.set_postfix(report.postfix)
        tqdm.write(f"[{label}] epoch {epoch}: lr {lr:.2e}, {report.text}, {seconds:.1f} s"
                   + (f" -> {stop_note}" if stopped(state) else ""))
    bar.close()
    model.eval()
    return LoopResult(epoch, history, wall, stopped(state), state)
