"""Step time of our vectorized (foreach) optimizers against torch.optim's foreach implementations.

Usage: python benchmarks/bench_optimizers.py [--steps N] [--repeats R] [--threads T]
The parameter set has the shapes of a CIFAR ResNet-56 (He et al. 2016, option A shortcuts: 0.85M
parameters in 167 tensors), float32 on the CPU, with fresh random gradients. Both optimizers run
in the same process, interleaved, and the median of R timings of N steps each is compared;
a ratio ours/torch of at most 1.2 is the target. One intra-op thread by default: on a small shared
machine a second thread mostly adds scheduling noise to both sides.
"""

import argparse
import statistics
import time

import torch

from reference_impl.optim import Adam, AdamW, RMSprop

TARGET_RATIO = 1.2
OPTIMIZERS = {
    "RMSprop": (RMSprop, torch.optim.RMSprop, {"lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4}),
    "Adam": (Adam, torch.optim.Adam, {"lr": 1e-3, "weight_decay": 1e-4}),
    "AdamW": (AdamW, torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}),
}


def resnet56_shapes(blocks_per_stage=9, widths=(16, 32, 64), classes=10):
    """Parameter shapes of a CIFAR ResNet-(6n+2): a 3x3 stem, 3 stages of n two-conv blocks, BN after each conv."""
    shapes = [(widths[0], 3, 3, 3), (widths[0],), (widths[0],)]
    fan_in = widths[0]
    for width in widths:
        for _ in range(blocks_per_stage):
            for conv_in in (fan_in, width):
                shapes += [(width, conv_in, 3, 3), (width,), (width,)]
            fan_in = width
    return shapes + [(classes, widths[-1]), (classes,)]


def time_steps(optimizer, steps):
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=7, help="timings per optimizer (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = resnet56_shapes()
    print(
        f"ResNet-56 parameter set: {len(shapes)} tensors, "
        f"{sum(torch.Size(shape).numel() for shape in shapes) / 1e6:.2f}M parameters, float32, "
        f"torch {torch.__version__}, threads: {torch.get_num_threads()}"
    )
    print(f"{'optimizer':10} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>11}  target <= {TARGET_RATIO}")
    for name, (ours_class, torch_class, hyper) in OPTIMIZERS.items():
        timings = {"ours": [], "torch": []}
        runs = {}
        for label, optimizer_class in (("ours", ours_class), ("torch", torch_class)):
            params = [torch.randn(shape, requires_grad=True) for shape in shapes]
            for param in params:
                param.grad = torch.randn(param.shape) * 1e-2
            runs[label] = optimizer_class(params, foreach=True, **hyper)
            time_steps(runs[label], steps=3)  # warm-up: allocates the state
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
            for label, optimizer in runs.items():
                timings[label].append(time_steps(optimizer, args.steps))
        ours, theirs = statistics.median(timings["ours"]), statistics.median(timings["torch"])
        print(f"{name:10} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} {ours / theirs:11.2f}")


if __name__ == "__main__":
    main()
