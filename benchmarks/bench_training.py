"""Training throughput (images/s) of the capstones' trainer against a plain baseline loop, in the same run.

Usage: python benchmarks/bench_training.py [--models resnet20 resnet56 resnet110] [--steps N] [--batch-size B]
       [--compile] [--peak-tflops T]
Fast loop: capstone.trainer.Trainer with the fast recipe, the loop the CLI and notebooks 08/09 run (data resident
on the device, crop + flip there, channels_last, bf16 autocast on CUDA, no per-step host sync). Baseline: torch
DataLoader over the same images with the crop + flip done per image on the CPU, float32, contiguous NCHW, the loss
read back every step. Both train on random images (throughput does not depend on the pixels) for N timed steps
after a warm-up epoch; the fast loop's warm-up epoch (including torch.compile's) and moving the data to the device
are reported separately, and its training time is measured with CUDA events. The achieved fraction of the GPU's
bf16 peak uses 6 × forward multiply-adds FLOPs per trained image; on a CPU there is no such peak and the column
says so.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from capstone.augment import normalize, random_crop_flip
from capstone.recipes import fast_recipe
from capstone.trainer import TrainConfig, Trainer
from reference_impl.models.resnet import build_model, forward_multiply_adds

# Dense bf16 tensor-core peaks from NVIDIA's data sheets (SXM parts), TFLOP/s.
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class CpuAugmentedImages(Dataset):
    """The baseline's data path: one image at a time, cropped, flipped and normalized on the CPU."""

    def __init__(self, images, labels):
        self.images, self.labels = torch.as_tensor(images), torch.as_tensor(labels)
        self.generator = torch.Generator().manual_seed(0)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = random_crop_flip(self.images[index : index + 1], self.generator)
        return normalize(image)[0], self.labels[index]


def baseline_images_per_second(model_name, data, batch_size, steps, device):
    model = build_model(model_name).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(
        CpuAugmentedImages(data["x"], data["y"]), batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0
    )

    def train(limit):
        done = 0
        for images, labels in loader:
            loss = F.cross_entropy(model(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # the usual per-step read-back for logging: a host sync every step
            done += 1
            if done == limit:
                return

    train(2)  # warm-up: cuDNN algorithm choice, allocator
    synchronize(device)
    start = time.perf_counter()
    train(steps)
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def random_training_data(images, seed=0):
    """uint8 CIFAR-shaped images and labels, training split only: throughput does not depend on the pixels, and
    without val/test splits an epoch's figures are the training's alone."""
    rng = np.random.default_rng(seed)
    return {"x": rng.integers(0, 256, (images, 3, 32, 32), dtype=np.uint8), "y": rng.integers(0, 10, images)}


def fast_loop_figures(model_name, data, batch_size, device, **config):
    """The course loop (capstone.trainer.Trainer, fast recipe) on `data`, one epoch to warm up, then one timed:
    {"images_per_second", "warm_up_seconds" (torch.compile, cuDNN autotuning, allocation), "data_to_device_seconds",
    "peak_memory_gib" (CUDA; None on a CPU)}. `config`: TrainConfig fields (compile, compile_mode, bf16, ...)."""
    model = build_model(model_name)
    # A schedule far longer than the two epochs timed: epochs run whole, and the lr does not matter to the speed.
    recipe = fast_recipe(model.depth, len(data["x"]), batch_size=batch_size, steps=10**9)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    trainer = Trainer(model, data, recipe, TrainConfig(device=str(device), progress=False, **config))
    warm_up = trainer.train_epoch()
    timed = trainer.train_epoch()
    return {
        "images_per_second": timed["images_per_second"],
        "warm_up_seconds": warm_up["seconds"],
        "data_to_device_seconds": trainer.data_to_device_seconds,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet20", "resnet56", "resnet110"])
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 100 on CUDA, 3 on CPU)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 512 on CUDA, 32 on CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the fast loop's model")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak of the GPU (default: by name)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.type == "cuda"
    steps = args.steps or (100 if on_gpu else 3)
    batch_size = args.batch_size or (512 if on_gpu else 32)
    name = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    peak = args.peak_tflops or next(
        (tflops for key, tflops in BF16_PEAK_TFLOPS.items() if on_gpu and key in name), None
    )
    data = random_training_data(steps * batch_size)
    print(f"{name}, torch {torch.__version__}, batch {batch_size}, {steps} timed steps, compile={args.compile}")
    print(
        f"{'model':10} {'baseline img/s':>15} {'fast img/s':>11} {'fast/base':>10} {'data→dev s':>10} "
        f"{'warm-up s':>10} {'TFLOP/s':>8} {'of bf16 peak':>13}"
    )
    for model_name in args.models:
        train_flops_per_image = 6 * forward_multiply_adds(build_model(model_name))
        baseline = baseline_images_per_second(model_name, data, batch_size, steps, device)
        figures = fast_loop_figures(model_name, data, batch_size, device, compile=args.compile)
        fast, data_to_device_seconds, warmup_seconds = (
            figures[key] for key in ("images_per_second", "data_to_device_seconds", "warm_up_seconds")
        )
        achieved = fast * train_flops_per_image / 1e12
        fraction = f"{achieved / peak:.1%}" if peak else "unmeasured (no GPU)" if not on_gpu else "peak unknown"
        print(
            f"{model_name:10} {baseline:15.1f} {fast:11.1f} {fast / baseline:10.2f} {data_to_device_seconds:10.3f} "
            f"{warmup_seconds:10.2f} {achieved:8.4f} {fraction:>13}"
        )


if __name__ == "__main__":
    main()
