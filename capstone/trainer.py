"""The capstones' one training loop for CIFAR models: on one GPU, on several under torchrun, or on a CPU.

What it trains with comes in as a `capstone.recipes.Recipe` (an optimizer factory, the lr as a function of the
step, optional momentum and clipping functions, batch size, length): the command line builds the paper's or
the fast recipe, notebooks 08/09 build theirs from the student's own optimizer, schedule and clipping.

Speed comes from keeping the host out of the way: the whole data set sits on the device as uint8, each batch
is cropped, flipped and normalized there, the model runs in channels_last memory order under bf16 autocast
(CUDA only; float32 elsewhere), optionally compiled, and losses, accuracies and gradient norms are summed in
device tensors that are read back only every `nan_check_every` steps and at the end of each epoch. Batches
have a fixed size (the last partial batch of an epoch is dropped) so compiled graphs are reused.

Timing is reported honestly: moving the data to the device is measured on its own, each epoch's training time
with CUDA events on a GPU (a wall clock on a CPU), evaluation apart from training, and the first epoch a process
trains, which pays for torch.compile, cuDNN autotuning and memory allocation, is marked `warm_up`.
Checkpoints hold everything the run depends on (model, optimizer, step, the augmentation generator and torch's
global RNG states), so a resumed run continues exactly as if it had never stopped.
"""

import csv
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .augment import normalize, random_crop_flip


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainConfig:
    """Where and how the loop runs; what it trains with is the Recipe. The caller seeds and builds the model."""

    seed: int = 0  # the batch order and augmentation
    device: str | None = None  # None: CUDA when available, else CPU
    compile: bool = False
    compile_mode: str | None = None  # torch.compile's mode: None (default), "reduce-overhead" (CUDA graphs), ...
    channels_last: bool = True
    bf16: bool = True  # autocast to bfloat16 on CUDA; CPU runs stay float32
    out_dir: str | None = None  # results.json, results.csv and checkpoint.pt go here (process 0 only)
    checkpoint_every: int = 1  # epochs; 0 disables checkpoints
    resume: bool = False  # `train` continues from out_dir/checkpoint.pt when it exists
    nan_check_every: int = 100  # steps between the host reading back the divergence flag
    eval_batch_size: int = 1000
    progress: bool = True
    # Deterministic kernels (cuDNN's, and torch's deterministic mode, warning where an op has none): repeatable
    # runs, at some speed. Process-wide, as torch's switches are.
    deterministic: bool = False


def make_deterministic():
    """Ask torch for deterministic kernels from here on (cuBLAS needs its workspace setting before first use)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False


def resolve_device(name=None):
    return torch.device(name if name else ("cuda" if torch.cuda.is_available() else "cpu"))


class DeviceTimer:
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


def apply_schedule(optimizer, recipe, step):
    """Set every parameter group's lr, and momentum (β1 where the group has betas) when the recipe schedules it,
    to the recipe's values for `step`."""
    lr = recipe.lr_at(step)
    momentum = None if recipe.momentum_at is None else recipe.momentum_at(step)
    for group in optimizer.param_groups:
        group["lr"] = lr
        if momentum is not None:
            if "betas" in group:
                group["betas"] = (momentum, *group["betas"][1:])
            else:
                group["momentum"] = momentum


class Trainer:
    """Trains `model` as `recipe` says on ``data = {"x", "y"[, "x_val", "y_val"][, "x_test", "y_test"]}`` (uint8
    images (N, 3, 32, 32), int64 labels), evaluating on the val and test splits after every epoch.

    `run()` trains to `recipe.steps` and returns the history (one dict per epoch). Inside torch.distributed
    (e.g. torchrun) the model is wrapped in DistributedDataParallel and each process takes its share of every
    global batch; all processes draw the same batch order from the same seed.
    """

    def __init__(self, model, data, recipe, config=None):
        self.config, self.recipe = config or TrainConfig(), recipe
        if self.config.deterministic:
            make_deterministic()
        self.device = resolve_device(self.config.device)
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank, self.world_size = (dist.get_rank(), dist.get_world_size()) if self.distributed else (0, 1)
        if recipe.batch_size % self.world_size:
            raise ValueError(f"batch size {recipe.batch_size} does not split over {self.world_size} processes")
        self.timer = DeviceTimer(self.device)
        self.timer.start()
        self.arrays = {name: torch.as_tensor(array).to(self.device) for name, array in data.items()}
        self.data_to_device_seconds = self.timer.stop()
        self.steps_per_epoch = len(self.arrays["x"]) // recipe.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(f"{len(self.arrays['x'])} training images make no batch of {recipe.batch_size}")

        self.model = model.to(self.device)
        if self.config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.model.train()
        self.optimizer = recipe.make_optimizer(self.model.parameters())
        self.network = self.model
        if self.distributed:  # one process too: torchrun --nproc_per_node 1 runs the same code as several
            self.network = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        if self.config.compile:
            self.network = torch.compile(self.network, mode=self.config.compile_mode)
        self.use_bf16 = self.config.bf16 and self.device.type == "cuda"
        self.generator = torch.Generator(self.device).manual_seed(self.config.seed)
        self.step, self.epoch, self.history, self.diverged = 0, 0, [], False
        self.warmed_up = False  # whether this process has trained an epoch (and so paid the one-time costs)
        self.progress_bar = None  # only `run` shows one: train_epoch called on its own (tests, benchmarks) is quiet

    # --- one epoch ---------------------------------------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16)

    def train_epoch(self):
        """Train one epoch (fewer steps if the run ends inside it), evaluate, append and return its history row.

        A NaN or infinite loss ends the epoch at the next check; its row (with `diverged_at_step`) is still
        appended, then TrainingDiverged is raised.
        """
        recipe, config, device = self.recipe, self.config, self.device
        local_batch = recipe.batch_size // self.world_size
        order = torch.randperm(len(self.arrays["x"]), device=device, generator=self.generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        norm_sum, norm_max = torch.zeros((), device=device), torch.zeros((), device=device)
        first_bad_step = torch.full((), -1, device=device, dtype=torch.long)
        bad_step = None
        steps = min(self.steps_per_epoch, recipe.steps - self.step)
        done = 0
        self.timer.start()
        while done < steps and bad_step is None:
            batch = order[done * recipe.batch_size : (done + 1) * recipe.batch_size]
            batch = batch[self.rank * local_batch : (self.rank + 1) * local_batch]
            images = normalize(random_crop_flip(self.arrays["x"][batch], self.generator), config.channels_last)
            labels = self.arrays["y"][batch]
            apply_schedule(self.optimizer, recipe, self.step)
            with self.autocast():
                logits = self.network(images)
                loss = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.clip is not None:
                norm = torch.as_tensor(recipe.clip(self.model.parameters()), device=device).float()
                norm_sum += norm
                norm_max = torch.maximum(norm_max, norm)
            self.optimizer.step()
            self.step += 1
            done += 1
            loss = loss.detach().float()
            loss_sum += loss
            correct += (logits.argmax(1) == labels).sum()
            # Remember the first bad step on the device; the host looks only every nan_check_every steps.
            first_bad_step = torch.where(torch.isfinite(loss) | (first_bad_step >= 0), first_bad_step, self.step)
            if self.step % config.nan_check_every == 0:
                bad_step = self._first_bad_step(first_bad_step)
            if self.progress_bar is not None:
                self.progress_bar.update(1)
        seconds = self.timer.stop()
        if bad_step is None:
            bad_step = self._first_bad_step(first_bad_step)
        totals = torch.stack([loss_sum, correct.float()])
        if self.distributed:
            dist.all_reduce(totals)
        train_loss, train_correct = totals.tolist()
        self.epoch += 1
        row = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": train_loss / (done * self.world_size),
            "train_accuracy": train_correct / (done * recipe.batch_size),
            "seconds": seconds,
            "images_per_second": done * recipe.batch_size / seconds,
            "warm_up": not self.warmed_up,
        }
        self.warmed_up = True
        if recipe.clip is not None:
            row["gradient_norm"], row["gradient_norm_max"] = (norm_sum / done).item(), norm_max.item()
        start = time.perf_counter()
        for split in ("val", "test"):
            if f"x_{split}" in self.arrays:
                row[f"{split}_loss"], row[f"{split}_accuracy"] = self.evaluate(
                    self.arrays[f"x_{split}"], self.arrays[f"y_{split}"]
                )
        row["eval_seconds"] = time.perf_counter() - start
        self.history.append(row)
        if bad_step is not None:
            row["diverged_at_step"] = bad_step
            raise TrainingDiverged(
                f"the training loss became NaN or infinite at step {bad_step} (epoch {self.epoch}, lr then "
                f"{recipe.lr_at(bad_step - 1):.4g}). Stopped: lower the learning rate, add warmup or gradient "
                f"clipping, and check the inputs."
            )
        return row

    def _first_bad_step(self, first_bad_step):
        """The first step (counted from 1) whose loss was NaN or infinite in any process, or None."""
        if self.distributed:
            first_bad_step = first_bad_step.clone()
            dist.all_reduce(first_bad_step, op=dist.ReduceOp.MAX)
        bad_step = int(first_bad_step)
        return bad_step if bad_step >= 0 else None

    @torch.no_grad()
    def evaluate(self, images, labels):
        """(mean cross-entropy, accuracy) of the model in eval mode, without label smoothing or augmentation."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        for start in range(0, len(images), self.config.eval_batch_size):
            batch = slice(start, start + self.config.eval_batch_size)
            with self.autocast():
                logits = self.model(normalize(images[batch], self.config.channels_last))
            loss_sum += F.cross_entropy(logits.float(), labels[batch], reduction="sum")
            correct += (logits.argmax(1) == labels[batch]).sum()
        self.model.train()
        return loss_sum.item() / len(images), correct.item() / len(images)

    # --- the whole run -----------------------------------------------------------------------------------
    def run(self):
        """Train to `recipe.steps`, writing results and checkpoints (process 0) after each epoch; return the
        history. Raises TrainingDiverged (after writing the results) when the loss becomes NaN or infinite."""
        config = self.config
        out_dir = Path(config.out_dir) if config.out_dir else None
        writes = out_dir is not None and self.rank == 0
        if writes:
            out_dir.mkdir(parents=True, exist_ok=True)
        self.progress_bar = tqdm(
            total=self.recipe.steps,
            initial=self.step,
            desc=type(self.model).__name__,
            disable=not config.progress or self.rank != 0,
        )
        try:
            while self.step < self.recipe.steps:
                row = self.train_epoch()
                self.progress_bar.set_postfix(
                    {key: f"{row[key]:.3f}" for key in ("train_loss", "test_accuracy") if key in row}
                )
                if writes:
                    self.write_results(out_dir)
                    finished = self.step >= self.recipe.steps
                    if config.checkpoint_every and (self.epoch % config.checkpoint_every == 0 or finished):
                        self.save_checkpoint(out_dir / "checkpoint.pt")
        except TrainingDiverged:
            self.diverged = True
            if writes:
                self.write_results(out_dir)
            raise
        finally:
            self.progress_bar.close()
            self.progress_bar = None
        return self.history

    def summary(self):
        """What results.json holds: the settings, the run's size and timing, whether it diverged, the history."""
        return {
            "config": asdict(self.config),
            "batch_size": self.recipe.batch_size,
            "total_steps": self.recipe.steps,
            "world_size": self.world_size,
            "backend": dist.get_backend() if self.distributed else None,
            "step": self.step,
            "diverged": self.diverged,
            "data_to_device_seconds": self.data_to_device_seconds,
            "history": self.history,
        }

    def write_results(self, out_dir):
        """results.json (the summary) and results.csv (one row per epoch), for the notebooks' plots."""
        # default=str: a device given as torch.device rather than a name
        (out_dir / "results.json").write_text(json.dumps(self.summary(), indent=1, default=str))
        columns = list(dict.fromkeys(key for row in self.history for key in row))
        with open(out_dir / "results.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.history)

    # --- checkpoints -------------------------------------------------------------------------------------
    def state_dict(self):
        # No scheduler state: the lr and momentum are functions of `step`.
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "cpu_rng": torch.get_rng_state(),
            "step": self.step,
            "epoch": self.epoch,
            "history": self.history,
        }
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["cpu_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.step, self.epoch, self.history = state["step"], state["epoch"], state["history"]

    def save_checkpoint(self, path):
        path = Path(path)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(self.state_dict(), partial)
        os.replace(partial, path)  # atomic: a crash while saving leaves the previous checkpoint intact

    def load_checkpoint(self, path):
        # Tensors to the CPU first: generator and RNG states must be CPU byte tensors; load_state_dict
        # copies weights and optimizer state onto the parameters' device.
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))


def train(model, data, recipe, config=None):
    """Train `model` (built and seeded by the caller) as `recipe` says on `data` (see Trainer), resuming from
    config.out_dir/checkpoint.pt when config.resume and it exists; return the run's summary (Trainer.summary):

    ``{"config", "batch_size", "total_steps", "world_size", "backend", "step", "diverged", "data_to_device_seconds",
    "history"}`` (backend: torch.distributed's, or None in a single process), one
    history dict per epoch with epoch, step, lr, train_loss, train_accuracy, seconds (training only: CUDA events
    on a GPU), images_per_second, warm_up, gradient_norm and gradient_norm_max (mean and largest total norm
    before clipping, when the recipe clips), val/test loss and accuracy, eval_seconds.

    A run whose loss becomes NaN or infinite stops there and comes back with ``diverged`` True (its last row
    says at which step) and a warning saying what to try; the model is trained in place.
    """
    config = config or TrainConfig()
    trainer = Trainer(model, data, recipe, config)
    checkpoint = Path(config.out_dir) / "checkpoint.pt" if config.out_dir else None
    if config.resume and checkpoint is not None and checkpoint.exists():
        trainer.load_checkpoint(checkpoint)
    try:
        trainer.run()
    except TrainingDiverged as error:
        warnings.warn(str(error), RuntimeWarning, stacklevel=2)
    return trainer.summary()
