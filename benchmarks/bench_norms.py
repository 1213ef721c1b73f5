"""Forward + backward time of our BatchNorm (autograd.Function, compact backward) against torch.nn.BatchNorm1d/2d.

Usage: python benchmarks/bench_norms.py [--steps N] [--repeats R] [--threads T]
Training mode, float32 on the CPU, shapes of an MLP layer and of a CIFAR ResNet stage. Both modules run
in the same process, interleaved; the median of R timings of N forward+backward passes each is compared.
Ours is plain torch operations against torch's native kernels: the point is that the course's reference
is fast enough for the lessons' experiments (within a small factor), not that it beats torch.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from reference_impl.norms import BatchNorm

SHAPES = {"MLP layer (256, 512)": (256, 512), "ResNet stage (128, 16, 32, 32)": (128, 16, 32, 32)}


def time_passes(module, x, steps):
    start = time.perf_counter()
    for _ in range(steps):
        module(x).sum().backward()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}")
    print(f"{'shape':32} {'ours ms':>9} {'torch ms':>9} {'ratio':>6}")
    for name, shape in SHAPES.items():
        x = torch.randn(shape, requires_grad=True)
        ours, theirs = BatchNorm(shape[1]), (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1])
        timings = {"ours": [], "torch": []}
        for _ in range(args.repeats):
            timings["ours"].append(time_passes(ours, x, args.steps) / args.steps)
            timings["torch"].append(time_passes(theirs, x, args.steps) / args.steps)
        median_ours, median_torch = (statistics.median(timings[key]) for key in ("ours", "torch"))
        print(f"{name:32} {median_ours * 1e3:9.2f} {median_torch * 1e3:9.2f} {median_ours / median_torch:6.2f}")


if __name__ == "__main__":
    main()
