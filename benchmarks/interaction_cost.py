"""What one student interaction costs the server, per kind: CPU ms, messages and bytes sent.

One simulated student (benchmarks/class_load.py's `Student`, Streamlit's own websocket protocol)
does class_load's loop alone against one fresh server: open the MNIST page from a shared link,
move its eps slider, open the draw page with a test digit, move its eps slider, pick another digit.
The actions run one after another, so the server's CPU time (from /proc) between sending an action
and a short settle after its answer is that action's; a first pass warms the caches and is not
counted.

    python -m benchmarks.interaction_cost --loops 10

Printed per kind: n, median and mean server CPU ms, median ForwardMsgs (one per element, block
or status message) and kB sent per run. Loopback only; a fresh server on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process pid has used so far."""
    import os

    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def measure(base: str, pid: int, loops: int, settle: float,
                  profile: str | None = None, profile_gil: bool = False, tour: bool = False) -> dict[str, list[tuple[float, int, int]]]:
    """kind -> [(server CPU ms, messages, bytes)] over `loops` counted loops (after one warm-up)."""
    from benchmarks import class_load as cl

    counted: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    walk = cl._walk

    def counting_walk(msg, answer) -> None:
        answer.messages = getattr(answer, "messages", 0) + 1
        answer.nbytes = getattr(answer, "nbytes", 0) + msg.ByteSize()
        walk(msg, answer)

    cl._walk = counting_walk
    args = cl.build_parser().parse_args(["--students", "1"])
    stats = cl.Stats()
    student = cl.Student(0, base, args, stats)
    record = {"on": False}
    run_script = student.run_script

    async def timed(kind, state):
        c0 = _cpu_s(pid)
        answer = await run_script(kind, state)
        await asyncio.sleep(settle)
        if record["on"] and answer is not None:
            counted[kind].append((1000 * (_cpu_s(pid) - c0 - 0.0), answer.messages, answer.nbytes))
        return answer

    student.run_script = timed
    await student.connect()
    try:
        await student.open("", "first page")
        student.query = {"draw_source": "Pick a test digit"}
        student.remember_digits(await student.open("draw"))
        spy = None
        for loop in range(loops + 1):
            record["on"] = loop > 0
            if loop == 1 and profile:  # py-spy's raw stacks of the counted loops (py-spy is in the venv)
                import subprocess

                gil = ["--gil"] if profile_gil else []

                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                                        "--format", "raw", "-o", profile, "--rate", "200", *gil],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                await asyncio.sleep(1.0)
            for other in (cl.TALK_ORDER if tour else ()):  # the pages a student opens once, on arrival
                if other not in ("mnist", "draw"):
                    student.query = {}
                    await student.open(other, f"open {other or 'home'}")
            student.query = {"mnist_digits": str(student.rng.randint(0, cl.DIGIT_SETS))}
            answer = await student.open("mnist", "open mnist")
            for _ in range(args.moves):
                await student.move_eps(answer, "mnist_eps", "mnist eps", 0.005, 0.3)
            student.query = {"draw_source": "Pick a test digit", "draw_pick": student.rng.choice(student.digit_options)}
            answer = await student.open("draw", "open draw")
            for _ in range(args.moves - 1):
                await student.move_eps(answer, "draw_eps", "draw eps", 0.0025, 0.3)
            await student.pick_digit(answer)
    finally:
        if spy is not None:
            import signal

            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        student.http.close()
        await student.ws.close()
    if stats.errors or stats.wrong:
        print(f"errors {dict(stats.errors)}, wrong content {dict(stats.wrong)}: {stats.examples}")
    return counted


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.interaction_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--loops", type=int, default=10, help="counted loops (after one warm-up loop)")
    p.add_argument("--settle", type=float, default=0.05, help="seconds after an answer still counted")
    p.add_argument("--profile", default=None, help="write py-spy's raw stacks of the counted loops here")
    p.add_argument("--gil", action="store_true", help="profile only the thread holding the GIL (Python work)")
    p.add_argument("--tour", action="store_true", help="also open the talk's other pages in every loop")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests.live_app import free_port, start_app, stop, wait_healthy

    port = free_port()
    proc = start_app(REPO / "streamlit_app.py", port)
    try:
        wait_healthy(port, proc, poll=0.05)
        from deploy.serve_class import open_first_page, wait_quiet

        open_first_page(port)  # starts the cache warm-up (app/warmup.py), as class_load's servers do
        print(f"caches warmed in {wait_quiet([proc.pid]):.1f} s")
        t0 = time.perf_counter()
        counted = asyncio.run(measure(f"http://127.0.0.1:{port}", proc.pid, args.loops, args.settle,
                                     args.profile, args.gil, args.tour))
        print(f"server pid {proc.pid}, {time.perf_counter() - t0:.0f} s")
    finally:
        stop(proc)
    print(f"  {'action':<12}{'n':>4}{'cpu p50 ms':>12}{'cpu mean':>10}{'msgs':>7}{'kB':>8}")
    total = 0.0
    for kind, rows in counted.items():
        cpu = [r[0] for r in rows]
        total += sum(cpu)
        print(f"  {kind:<12}{len(rows):>4}{statistics.median(cpu):>12.1f}{statistics.mean(cpu):>10.1f}"
              f"{statistics.median(r[1] for r in rows):>7.0f}{statistics.median(r[2] for r in rows) / 1000:>8.1f}")
    n = sum(len(r) for r in counted.values())
    print(f"  mean over the loop's {n} interactions: {total / max(n, 1):.1f} ms")


if __name__ == "__main__":
    main()
