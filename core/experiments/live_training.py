"""Live training runs, one at a time, in a worker process outside the app server.

A student's "Train the networks" must not stall the other thirty: the training (torch, seconds of
CPU) runs in one separate, low-priority worker process (`python -m core.experiments.live_training`), fed by a
bounded first-in-first-out queue that the server holds. Identical requests share one run (the runs
are seeded, so equal settings give equal rows), finished results are kept (a bounded cache), and
each request can see its place in the queue and its progress. The server itself never imports
torch.

Protocol: one JSON object per line. The server writes {"job": id, "config": {...}} to the worker's
stdin; the worker answers {"job": id, "event": "progress", "done": i, "total": n, "text": ...},
then {"job": id, "event": "done", "rows": [...]} or {"job": id, "event": "error", "message": ...}.
The worker exits when its stdin closes (the server stopped) or after `idle_exit_s` without work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError, RobustnessError
from core.experiments.random_data_live import MiniSweepConfig

REPO = Path(__file__).resolve().parents[2]


class QueueFullError(RobustnessError):
    """Too many live runs are waiting; the message says to try again shortly."""


class OneRunEachError(RobustnessError):
    """This student already has a run queued or running; the message says to wait for it."""


@dataclass
class Job:
    """One live run. state: queued, running, done or failed. position: 1-based place in the queue
    while queued (0 otherwise). done/total: units finished. rows: the result once done."""

    id: str
    config: MiniSweepConfig
    state: str = "queued"
    position: int = 0
    done: int = 0
    total: int = 0
    text: str = "Waiting for the worker..."
    rows: list[dict] | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class TrainingQueue:
    """A bounded FIFO of live runs and the one worker process that does them.

    Args:
        max_waiting: refuse a new run (`QueueFullError`) when this many are already waiting.
        max_kept: finished runs kept for lookup (oldest dropped first).
        nice: niceness added to the worker, so the server's requests come first on a busy CPU.
    Thread-safe: every Streamlit session calls it from its own thread.
    """

    def __init__(self, max_waiting: int = 30, max_kept: int = 64, nice: int = 10):
        self.max_waiting, self.max_kept, self.nice = max_waiting, max_kept, nice
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: list[str] = []
        self._owners: dict[str, str] = {}  # a student's one unfinished run (its id); finished ones are ignored
        self._running: str | None = None
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    # --- what the page calls ---------------------------------------------------------------

    def submit(self, config: MiniSweepConfig, owner: str | None = None) -> str:
        """Queue a run of config (or join an identical queued, running or finished one); its id.

        owner: who asks (a session id). One student holds at most one unfinished run: a second,
        different one raises `OneRunEachError` until the first is done, so a few students (or one
        script) cannot fill the queue that the class shares."""
        job_id = json.dumps(asdict(config), sort_keys=True)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state != "failed":
                return job_id
            if owner is not None:
                held = self._jobs.get(self._owners.get(owner, ""))
                if held is not None and not held.finished:
                    where = f"number {held.position} in the queue" if held.state == "queued" else "training now"
                    raise OneRunEachError(f"Your earlier run is still {where}: one run each at a time, "
                                          "so that everyone's runs get their turn. Start another when it is done.")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFullError(f"{len(self._waiting)} runs are already waiting for the one "
                                     "training worker: try again in a minute")
            self._jobs[job_id] = Job(job_id, config)
            if owner is not None:
                self._owners[owner] = job_id
            self._jobs.move_to_end(job_id)
            self._waiting.append(job_id)
            self._renumber()
            self._dispatch()
        return job_id

    def status(self, job_id: str) -> Job:
        """A snapshot of the job; a job this queue does not know (e.g. after a server restart)
        comes back failed, with a message to start it again."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return Job(job_id, MiniSweepConfig(), state="failed",
                           error="This run is no longer known to the server: start it again.")
            return Job(**{**job.__dict__, "rows": job.rows})

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        """Stop the worker (a queued run stays queued and starts a new worker when submitted)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

    # --- the worker ------------------------------------------------------------------------

    def _renumber(self) -> None:
        for i, jid in enumerate(self._waiting, start=1):
            self._jobs[jid].position = i

    def _start_worker(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                         os.environ.get("PYTHONPATH")])),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "core.experiments.live_training", "--nice", str(self.nice)], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            bufsize=1)
        self._reader = threading.Thread(target=self._read_events, args=(self._proc,), daemon=True,
                                        name="live-training-reader")
        self._reader.start()

    def _dispatch(self) -> None:
        """Under the lock: hand the next waiting job to the worker if it is idle."""
        if self._running is not None or not self._waiting:
            return
        if self._proc is None or self._proc.poll() is not None:
            self._start_worker()
        job_id = self._waiting.pop(0)
        job = self._jobs[job_id]
        job.state, job.position, job.text = "running", 0, "Starting the training worker..."
        self._running = job_id
        self._renumber()
        try:
            self._proc.stdin.write(json.dumps({"job": job_id, "config": asdict(job.config)}) + "\n")
            self._proc.stdin.flush()
        except OSError:
            self._fail_running("the training worker could not be reached")

    def _fail_running(self, message: str) -> None:
        if self._running is not None:
            job = self._jobs[self._running]
            job.state, job.error = "failed", message
            self._running = None

    def _read_events(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not a protocol line (a library printed something)
            with self._lock:
                job = self._jobs.get(event.get("job"))
                if job is None:
                    continue
                kind = event.get("event")
                if kind == "progress":
                    job.done, job.total, job.text = event["done"], event["total"], event["text"]
                elif kind in ("done", "error"):
                    job.state = "done" if kind == "done" else "failed"
                    job.rows = event.get("rows")
                    job.error = event.get("message")
                    job.done = job.total
                    self._running = None
                    self._trim()
                    self._dispatch()
        # stdout closed: the worker exited (idle, killed or crashed).
        with self._lock:
            if self._proc is proc:
                self._fail_running(f"the training worker stopped (exit code {proc.wait()}): "
                                   "start the run again")
                self._proc = None
                self._dispatch()

    def _trim(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.finished]
        for jid in finished[: max(0, len(finished) - self.max_kept)]:
            del self._jobs[jid]
        for owner in [o for o, jid in self._owners.items() if jid not in self._jobs or self._jobs[jid].finished]:
            del self._owners[owner]


# --- the worker process ---------------------------------------------------------------------


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def worker_main(argv: list[str] | None = None) -> int:
    """Read jobs from stdin, run each, write its events to stdout; exit on EOF or when idle."""
    import argparse
    import select

    parser = argparse.ArgumentParser(prog="python -m core.experiments.live_training",
                                     description="The app's live-training worker (started by the app).")
    parser.add_argument("--nice", type=int, default=10, help="niceness to add (default 10)")
    parser.add_argument("--idle-exit-s", type=float, default=600.0,
                        help="exit after this many seconds without a job (default 600)")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    from core.experiments.random_data_live import run_mini_sweep  # torch: in this process only

    while True:
        ready, _, _ = select.select([sys.stdin], [], [], args.idle_exit_s)
        if not ready:
            return 0  # idle: the server starts a new worker for the next run
        line = sys.stdin.readline()
        if not line:
            return 0  # the server closed the pipe
        try:
            request = json.loads(line)
            job_id = request["job"]
            config = MiniSweepConfig(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in request["config"].items()})
        except (ValueError, KeyError, TypeError) as exc:
            _emit({"job": None, "event": "error", "message": f"bad request: {exc}"})
            continue
        except InputError as exc:
            _emit({"job": job_id, "event": "error", "message": str(exc)})
            continue

        def progress(done: int, total: int, unit: tuple[int, str], job_id=job_id) -> None:
            d, rule = unit
            text = "Done." if done == total else f"Training d = {d}, rule {rule} ({done + 1} of {total})"
            _emit({"job": job_id, "event": "progress", "done": done, "total": total, "text": text})

        try:
            rows = run_mini_sweep(config, progress)
        except RobustnessError as exc:
            _emit({"job": job_id, "event": "error", "message": str(exc)})
        except Exception as exc:  # a bug must not kill the worker for everyone; report it
            _emit({"job": job_id, "event": "error", "message": f"the run failed: {type(exc).__name__}: {exc}"})
        else:
            _emit({"job": job_id, "event": "done", "rows": rows})


if __name__ == "__main__":
    sys.exit(worker_main())
