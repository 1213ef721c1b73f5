"""A small, open training loop for the capstone notebooks: any model, any optimizer, an lr function of the step
and an optional gradient-clipping function, with honest timing.

`CifarTrainer` is the fast loop for the recipes; this one lets a notebook put the student's own optimizer,
schedule and clipping (or a model without batch norm) into training. Data moves to the device once, as
uint8, and that time is reported on its own; each epoch's training time is measured with CUDA events on
a GPU (with a synchronize-bracketed wall clock on a CPU). The first epoch also pays for one-time costs
(cuDNN autotuning, memory allocation, torch.compile when asked): the notebooks report it separately.
"""
import time

import torch
import torch.nn.functional as F

from .augment import normalize, random_crop_flip


class EpochTimer:
    """Seconds of device work between `start()` and `stop()`: CUDA events on a GPU, a wall clock otherwise."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def start(self):
        if self.cuda:
            self.begin, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self.begin.record()
        else:
            self.begin = time.perf_counter()

    def stop(self):
        if self.cuda:
            self.end.record()
            self.end.synchronize()
            return self.begin.elapsed_time(self.end) / 1000
        return time.perf_counter() - self.begin


@torch.no_grad()
def accuracy(model, images, labels, batch_size=1000):
    """Fraction of `images` (uint8, on the model's device) that `model`, in eval mode, classifies as `labels`."""
    model.eval()
    correct = sum(int((model(normalize(images[start:start + batch_size])).argmax(1)
                       == labels[start:start + batch_size]).sum()) for start in range(0, len(images), batch_size))
    model.train()
    return correct / len(images)


def train_model(model, optimizer, data, *, epochs, batch_size, lr_at=None, clip=None, seed=0, device=None,
                compile=False):
    """Train `model` with `optimizer` on ``data = {"x", "y", "x_test", "y_test"[, "x_val", "y_val"]}``.

    Images are uint8 (N, 3, 32, 32); each batch gets He et al.'s random crop and flip. Batches have the fixed
    size `batch_size` (the last partial batch of an epoch is dropped), drawn in an order seeded by `seed`.
    Before step s (counted from 0) every parameter group's lr is set to `lr_at(s)` when given; after the
    backward pass `clip(model.parameters())` runs when given (it clips in place and returns the total
    gradient norm before clipping, as torch.nn.utils.clip_grad_norm_). A NaN or infinite loss stops the run.

    Returns ``{"history": [one dict per epoch], "data_to_device_seconds": float, "diverged": bool}``; an epoch's
    dict holds epoch, step, lr, train_loss, train_accuracy, seconds (training only, no evaluation),
    gradient_norm (mean over the epoch, when `clip` is given) and val_accuracy / test_accuracy after the epoch.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    timer = EpochTimer(device)
    timer.start()
    arrays = {name: torch.as_tensor(array).to(device) for name, array in data.items()}
    data_to_device_seconds = timer.stop()
    model.to(device).train()
    network = torch.compile(model) if compile else model
    generator = torch.Generator(device).manual_seed(seed)
    steps_per_epoch = len(arrays["x"]) // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{len(arrays['x'])} training images make no batch of {batch_size}")
    history, step, diverged = [], 0, False
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(arrays["x"]), device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        norms = []
        timer.start()
        for index in range(steps_per_epoch):
            batch = order[index * batch_size:(index + 1) * batch_size]
            images = normalize(random_crop_flip(arrays["x"][batch], generator))
            labels = arrays["y"][batch]
            if lr_at is not None:
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = network(images)
                loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                norms.append(torch.as_tensor(clip(model.parameters()), device=device))
            optimizer.step()
            step += 1
            loss_sum += loss.detach()
            correct += (logits.argmax(1) == labels).sum()
        seconds = timer.stop()
        train_loss = float(loss_sum) / steps_per_epoch
        row = {"epoch": epoch, "step": step, "lr": optimizer.param_groups[0]["lr"], "train_loss": train_loss,
               "train_accuracy": float(correct) / (steps_per_epoch * batch_size), "seconds": seconds}
        if norms:
            row["gradient_norm"] = float(torch.stack(norms).float().mean())
        for split in ("val", "test"):
            if f"x_{split}" in arrays:
                row[f"{split}_accuracy"] = accuracy(model, arrays[f"x_{split}"], arrays[f"y_{split}"])
        history.append(row)
        if not torch.isfinite(torch.tensor(train_loss)):
            diverged = True
            break
    return {"history": history, "data_to_device_seconds": data_to_device_seconds, "diverged": diverged}
