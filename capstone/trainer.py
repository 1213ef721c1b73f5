"""A fast training loop for CIFAR ResNets on one GPU (or several under torchrun), that also runs on a CPU.

Speed comes from keeping the host out of the way: the whole data set sits on the device as uint8, each
batch is cropped, flipped and normalized there, the model runs in channels_last memory order under bf16
autocast (CUDA only; float32 elsewhere), optionally compiled, and losses and accuracies are summed in
device tensors that are read back only every `nan_check_every` steps and at the end of each epoch.
Batches have a fixed size (the last partial batch of an epoch is dropped) so compiled graphs are reused.
Checkpoints hold everything the run depends on (model, optimizer, schedule, the augmentation generator
and torch's global RNG states), so a resumed run continues exactly as if it had never stopped.
"""
import csv
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .cifar10 import load_cifar10, split_validation
from reference_impl.models.resnet import build_model
from .augment import normalize, random_crop_flip
from .recipes import RECIPES


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainConfig:
    """One run. `steps` or `epochs` (else the recipe's length) and `batch_size` (else the recipe's) are global,
    over all processes; `train_size`/`test_size` use the first images only (quick CPU runs)."""
    model: str = "resnet20"
    recipe: str = "paper"
    steps: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    seed: int = 0
    device: Optional[str] = None  # None: CUDA when available, else CPU
    compile: bool = False
    channels_last: bool = True
    bf16: bool = True  # autocast to bfloat16 on CUDA; CPU runs stay float32
    validation_size: int = 0  # > 0: hold out this many training images (He et al. use 5000) and evaluate on them
    train_size: Optional[int] = None
    test_size: Optional[int] = None
    data_dir: Optional[str] = None
    out_dir: Optional[str] = None  # results.json, results.csv and checkpoint.pt go here (process 0 only)
    checkpoint_every: int = 1  # epochs; 0 disables checkpoints
    resume: bool = False  # continue from out_dir/checkpoint.pt when it exists
    nan_check_every: int = 100  # steps between the host reading back the divergence flag
    eval_batch_size: int = 1000
    progress: bool = True


def resolve_device(name=None):
    return torch.device(name if name else ("cuda" if torch.cuda.is_available() else "cpu"))


class CifarTrainer:
    """Trains `config.model` on ``data = {"x", "y", "x_test", "y_test"[, "x_val", "y_val"]}`` (uint8 images (N, 3, 32, 32)).

    `run()` trains to the end and returns the history (one dict per epoch). Inside torch.distributed
    (e.g. torchrun) the model is wrapped in DistributedDataParallel and each process takes its share of
    every global batch; all processes draw the same batch order from the same seed.
    """

    def __init__(self, config, data):
        self.config = config
        self.recipe = RECIPES[config.recipe]
        self.device = resolve_device(config.device)
        distributed = dist.is_available() and dist.is_initialized()
        self.rank, self.world_size = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
        self.batch_size = config.batch_size or self.recipe.batch_size
        if self.batch_size % self.world_size:
            raise ValueError(f"batch size {self.batch_size} does not split over {self.world_size} processes")
        self.arrays = {name: torch.as_tensor(array).to(self.device) for name, array in data.items()}
        self.steps_per_epoch = len(self.arrays["x"]) // self.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(f"{len(self.arrays['x'])} training images make no batch of {self.batch_size}")
        self.total_steps = (config.steps or (config.epochs and config.epochs * self.steps_per_epoch)
                            or self.recipe.total_steps(self.steps_per_epoch))

        torch.manual_seed(config.seed)  # same initial weights in every process
        self.model = build_model(config.model).to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer, self.scheduler = self.recipe.make_optimizer(
            self.model.parameters(), self.total_steps, self.model.depth)
        self.network = self.model
        if self.world_size > 1:
            self.network = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if config.compile:
            self.network = torch.compile(self.network)
        self.use_bf16 = config.bf16 and self.device.type == "cuda"
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.step, self.epoch, self.history = 0, 0, []
        self.progress_bar = None  # only `run` shows one: train_epoch called on its own (tests, benchmarks) is quiet

    # --- one epoch ---------------------------------------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16)

    def train_epoch(self):
        """Train one epoch (fewer steps if the run ends inside it), evaluate, append and return its history row."""
        config, device = self.config, self.device
        local_batch = self.batch_size // self.world_size
        order = torch.randperm(len(self.arrays["x"]), device=device, generator=self.generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        first_bad_step = torch.full((), -1, device=device, dtype=torch.long)
        steps = min(self.steps_per_epoch, self.total_steps - self.step)
        start = time.perf_counter()
        for index in range(steps):
            batch = order[index * self.batch_size:(index + 1) * self.batch_size]
            batch = batch[self.rank * local_batch:(self.rank + 1) * local_batch]
            images = normalize(random_crop_flip(self.arrays["x"][batch], self.generator), config.channels_last)
            labels = self.arrays["y"][batch]
            with self.autocast():
                logits = self.network(images)
                loss = F.cross_entropy(logits, labels, label_smoothing=self.recipe.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            loss = loss.detach().float()
            loss_sum += loss
            correct += (logits.argmax(1) == labels).sum()
            # Remember the first bad step on the device; the host looks only every nan_check_every steps.
            first_bad_step = torch.where(torch.isfinite(loss) | (first_bad_step >= 0), first_bad_step, self.step)
            if self.step % config.nan_check_every == 0:
                self._stop_if_diverged(first_bad_step)
            if self.progress_bar is not None:
                self.progress_bar.update(1)
        self._stop_if_diverged(first_bad_step)
        totals = torch.stack([loss_sum, correct.float()])
        if self.world_size > 1:
            dist.all_reduce(totals)
        train_loss, train_correct = totals.tolist()  # waits for the device: the epoch's time is complete
        train_seconds = time.perf_counter() - start
        self.epoch += 1
        row = {"epoch": self.epoch, "step": self.step, "lr": self.optimizer.param_groups[0]["lr"],
               "train_loss": train_loss / (steps * self.world_size),
               "train_accuracy": train_correct / (steps * self.batch_size),
               "train_seconds": train_seconds, "images_per_second": steps * self.batch_size / train_seconds}
        start = time.perf_counter()
        for split in ("val", "test"):
            if f"x_{split}" in self.arrays:
                row[f"{split}_loss"], row[f"{split}_accuracy"] = self.evaluate(
                    self.arrays[f"x_{split}"], self.arrays[f"y_{split}"])
        row["eval_seconds"] = time.perf_counter() - start
        self.history.append(row)
        return row

    def _stop_if_diverged(self, first_bad_step):
        if self.world_size > 1:
            first_bad_step = first_bad_step.clone()
            dist.all_reduce(first_bad_step, op=dist.ReduceOp.MAX)
        bad_step = int(first_bad_step)
        if bad_step >= 0:
            raise TrainingDiverged(
                f"the training loss became NaN or infinite at step {bad_step} (epoch {self.epoch + 1}, "
                f"lr then {self.scheduler.lr_functions[0](bad_step - 1):.4g}). Stopped: lower the learning "
                f"rate, add warmup or gradient clipping, and check the inputs.")

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
        """Train to `total_steps`, writing results and checkpoints (process 0) after each epoch; return the history."""
        config = self.config
        out_dir = Path(config.out_dir) if config.out_dir else None
        writes = out_dir is not None and self.rank == 0
        if writes:
            out_dir.mkdir(parents=True, exist_ok=True)
        self.progress_bar = tqdm(total=self.total_steps, initial=self.step, desc=config.model,
                                 disable=not config.progress or self.rank != 0)
        try:
            while self.step < self.total_steps:
                row = self.train_epoch()
                self.progress_bar.set_postfix({key: f"{row[key]:.3f}" for key in ("train_loss", "test_accuracy")
                                               if key in row})
                if writes:
                    self.write_results(out_dir)
                    finished = self.step >= self.total_steps
                    if config.checkpoint_every and (self.epoch % config.checkpoint_every == 0 or finished):
                        self.save_checkpoint(out_dir / "checkpoint.pt")
        finally:
            self.progress_bar.close()
            self.progress_bar = None
        return self.history

    def write_results(self, out_dir):
        """results.json (config and history) and results.csv (one row per epoch), for the notebooks' plots."""
        summary = {"config": asdict(self.config), "total_steps": self.total_steps, "history": self.history}
        (out_dir / "results.json").write_text(json.dumps(summary, indent=1))
        columns = list(dict.fromkeys(key for row in self.history for key in row))
        with open(out_dir / "results.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.history)

    # --- checkpoints -------------------------------------------------------------------------------------
    def state_dict(self):
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "generator": self.generator.get_state(),
                 "cpu_rng": torch.get_rng_state(), "step": self.step, "epoch": self.epoch,
                 "history": self.history, "config": asdict(self.config)}
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
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


def prepare_data(config):
    """CIFAR-10 from `config.data_dir`, cut to train_size/test_size, with a validation split when asked."""
    data = load_cifar10(config.data_dir)
    if config.validation_size:
        data = split_validation(data, config.validation_size, seed=config.seed)
    for split, size in (("", config.train_size), ("_test", config.test_size)):
        if size is not None:
            data[f"x{split}"], data[f"y{split}"] = data[f"x{split}"][:size], data[f"y{split}"][:size]
    return data


def train_cifar(config, data=None):
    """Train as `config` says (data read with `prepare_data` unless given), resuming from out_dir when asked;
    return the CifarTrainer after its run (history in `.history`, model in `.model`)."""
    trainer = CifarTrainer(config, data if data is not None else prepare_data(config))
    checkpoint = Path(config.out_dir) / "checkpoint.pt" if config.out_dir else None
    if config.resume and checkpoint is not None and checkpoint.exists():
        trainer.load_checkpoint(checkpoint)
    trainer.run()
    return trainer
