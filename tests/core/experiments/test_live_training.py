"""core.experiments.live_training: the app's queue of live runs and its worker process, outside the server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.experiments.live_training import OneRunEachError, QueueFullError, TrainingQueue
from core.experiments.random_data_live import MiniSweepConfig

TINY = dict(n=50, d_values=(4, 8), probe_points=50, max_steps=400)


def wait(queue: TrainingQueue, job_id: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = queue.status(job_id)
        if job.finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job did not finish in {timeout} s: {queue.status(job_id)}")


@pytest.fixture
def queue():
    q = TrainingQueue(max_waiting=2)
    yield q
    q.close()


def test_runs_queue_in_order_share_identical_requests_and_report_progress(queue):
    first = queue.submit(MiniSweepConfig(**TINY))
    second = queue.submit(MiniSweepConfig(**TINY, seeds=(1,)))
    assert queue.submit(MiniSweepConfig(**TINY)) == first  # the same settings: the same run
    assert queue.status(first).state == "running" and queue.status(second).position == 1
    with pytest.raises(QueueFullError, match="try again"):
        for seed in (2, 0):  # a third and a fourth waiting run: over max_waiting = 2
            queue.submit(MiniSweepConfig(**{**TINY, "n": 60}, seeds=(seed,)))
    done = wait(queue, first)
    assert done.state == "done" and done.fraction == 1.0 and done.error is None
    assert {(r["d"], r["rule"]) for r in done.rows} == {(4, "f_n"), (4, "f_nd"), (8, "f_n"), (8, "f_nd")}
    later = wait(queue, second)
    assert later.state == "done" and {r["seed"] for r in later.rows} == {1}
    assert queue.submit(MiniSweepConfig(**TINY)) == first and queue.status(first).state == "done"  # kept


def test_a_worker_that_dies_fails_its_run_and_the_next_run_gets_a_new_worker(queue):
    job = queue.submit(MiniSweepConfig(n=400, d_values=(320, 640), seeds=(0, 1, 2), max_steps=20000))
    deadline = time.monotonic() + 120
    while queue.status(job).text.startswith("Starting") and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until the worker has torch loaded and is training
    queue._proc.kill()
    failed = wait(queue, job)
    assert failed.state == "failed" and "worker stopped" in failed.error
    again = wait(queue, queue.submit(MiniSweepConfig(**TINY)))
    assert again.state == "done"


def test_one_student_holds_one_unfinished_run_at_a_time(queue):
    """35 submits from one session took 31 places in the queue: now the second is refused."""
    first = queue.submit(MiniSweepConfig(**TINY), owner="student-a")
    assert queue.submit(MiniSweepConfig(**TINY), owner="student-a") == first  # the same run again: fine
    with pytest.raises(OneRunEachError, match="one run each"):
        queue.submit(MiniSweepConfig(**TINY, seeds=(1,)), owner="student-a")
    other = queue.submit(MiniSweepConfig(**TINY, seeds=(1,)), owner="student-b")  # others still get a place
    assert queue.status(other).state in ("queued", "running")
    assert queue.submit(MiniSweepConfig(**TINY, seeds=(1,)), owner="student-a") == other  # joining one is fine
    assert wait(queue, first).state == "done"
    later = queue.submit(MiniSweepConfig(**TINY, seeds=(2,)), owner="student-a")  # the first is done: a new one
    assert wait(queue, later).state == "done"


def test_unknown_runs_are_reported_as_failed_with_what_to_do(queue):
    job = queue.status("no such run")
    assert job.state == "failed" and "start it again" in job.error


def test_the_server_side_never_imports_torch():
    code = ("import sys, core.experiments.live_training, core.experiments.random_data_live; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
