"""Achieved FLOP/s of the random-data training step (full-batch Adam on a stack of networks).

Counts the matmul FLOPs of forward + backward per step (`core.experiments.random_net.matmul_flops_per_step`:
4 n k d + 6 n k per network; elementwise work, batch norm and Adam are not counted) and divides by
the measured time of whole steps (forward, backward, Adam update), then compares with a peak.

    python -m benchmarks.random_data_flops                       # paper's largest d on CUDA; CPU size on CPU
    python -m benchmarks.random_data_flops --n 1000 --d 500 --stack 3 --device cpu --threads 1
    python -m benchmarks.random_data_flops --peak-tflops 494.7   # your own peak figure

Peaks: the table below holds NVIDIA's H100 datasheet figures (dense, no sparsity); for a CPU the
script estimates cores x GHz x FLOPs/cycle from /proc/cpuinfo (an estimate, labelled as such).
`--peak-tflops` overrides both.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import torch

from core.experiments.random_net import StackedTwoLayer, matmul_flops_per_step
from core.specs import get_width_rule
from training.cli import DEVICE_CHOICES
from training.random_data import PAPER_D_GRID
from training.runinfo import device_description, resolve_device

# NVIDIA H100 datasheet, dense TFLOP/s (the sparse figures are twice these).
H100_PEAK_TFLOPS = {
    "H100 SXM": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4},
    "H100 PCIe": {"fp32": 51.2, "tf32": 378.0, "bf16": 756.0},
}


def cpu_peak_estimate(threads: int) -> tuple[float, str]:
    """An fp32 peak estimate for `threads` CPU cores: GHz x FLOPs/cycle (FMA units x SIMD width x 2)."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        info = ""
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", info)]
    ghz = max(mhz) / 1000 if mhz else 2.5
    flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split()) if "flags" in info else set()
    if "avx512f" in flags:
        per_cycle, simd = 64, "AVX-512 (2 FMA x 16 fp32 x 2)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, simd = 32, "AVX2 (2 FMA x 8 fp32 x 2)"
    else:
        per_cycle, simd = 8, "SSE (assumed 8 FLOPs/cycle)"
    peak = threads * ghz * per_cycle / 1e3
    return peak, f"CPU estimate: {threads} cores x {ghz:.2f} GHz x {per_cycle} FLOPs/cycle, {simd}"


def cuda_peak(device: torch.device, tf32: bool) -> tuple[float | None, str]:
    name = torch.cuda.get_device_name(device)
    kind = "tf32" if tf32 else "fp32"
    for model, peaks in H100_PEAK_TFLOPS.items():
        if model.split()[1].lower() in name.lower() and "h100" in name.lower():
            return peaks[kind], f"{model} datasheet {kind} peak (dense)"
    if "h100" in name.lower():
        return H100_PEAK_TFLOPS["H100 SXM"][kind], f"H100 SXM datasheet {kind} peak (dense)"
    return None, f"no peak known for {name}: pass --peak-tflops"


def measure(n: int, d: int, k: int, stack: int, steps: int, warmup: int, device: torch.device,
            batchnorm: bool) -> float:
    """Seconds per full-batch Adam step of `stack` networks d -> k -> 1 on n points."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(stack, n, d, generator=gen) / d ** 0.5).to(device)
    y = torch.sign(torch.randn(stack, n, generator=gen)).to(device)
    model = StackedTwoLayer(d, k, list(range(stack)), batchnorm).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=device.type == "cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        ((model(x) - y) ** 2).mean(dim=1).sum().backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.random_data_flops", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, help="points (default 10000 on CUDA, 1000 on CPU)")
    p.add_argument("--d", type=int, help=f"dimension (default {max(PAPER_D_GRID)} on CUDA, 500 on CPU)")
    p.add_argument("--rule", default="f_nd", help="width rule giving k (default f_nd: k = n)")
    p.add_argument("--stack", type=int, default=1, help="networks trained at once (seeds)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--peak-tflops", type=float, help="peak to compare with, TFLOP/s")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    cuda = device.type == "cuda"
    n = args.n or (10_000 if cuda else 1000)
    d = args.d or (max(PAPER_D_GRID) if cuda else 500)
    k = get_width_rule(args.rule)(n, d)
    sec = measure(n, d, k, args.stack, args.steps, args.warmup, device, args.batchnorm)
    flops = args.stack * matmul_flops_per_step(n, d, k)
    achieved = flops / sec / 1e12
    if args.peak_tflops:
        peak, source = args.peak_tflops, "--peak-tflops"
    elif cuda:
        peak, source = cuda_peak(device, args.tf32)
    else:
        peak, source = cpu_peak_estimate(torch.get_num_threads())
    print(f"device: {device_description(device)}"
          + (f", {'tf32' if args.tf32 else 'fp32'} matmuls" if cuda else "")
          + f"; load average {os.getloadavg()[0]:.2f}")
    print(f"size: n={n}, d={d}, k={k} ({args.rule}), stack={args.stack}, batchnorm={args.batchnorm}")
    print(f"step: {sec * 1e3:.1f} ms, {flops / 1e9:.2f} GFLOP of matmuls (forward + backward)")
    print(f"achieved: {achieved * 1e3:.1f} GFLOP/s")
    if peak:
        print(f"peak: {peak * 1e3:.1f} GFLOP/s ({source}); achieved / peak = {achieved / peak:.1%}")
    else:
        print(f"peak: {source}")
    grid_flops = sum(matmul_flops_per_step(n, dd, get_width_rule(r)(n, dd))
                     for dd in PAPER_D_GRID for r in ("f_nd", "f_n")) if n == 10_000 else None
    if grid_flops:
        print(f"paper grid (n=10^4, 100 d values, both rules, one seed): {grid_flops / 1e12:.1f} TFLOP "
              f"per step of every network; at the achieved rate 100 steps of all of them take "
              f"{100 * grid_flops / (achieved * 1e12) / 60:.1f} min (small-k units run below this rate)")


if __name__ == "__main__":
    main()
