"""Command line for the capstones' training: a named model and recipe through the trainer notebooks 08/09 use.

python -m capstone --model resnet56 --recipe paper --out-dir runs/resnet56-seed0
torchrun --nproc_per_node 4 -m capstone --model resnet110 --recipe fast --out-dir runs/r110
python -m capstone --synthetic --train-size 2048 --test-size 256 --steps 20   # no CIFAR-10 needed
"""

import argparse
import dataclasses
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from reference_impl.models.resnet import build_model

from .cifar10 import load_cifar10, split_validation, synthetic_cifar10
from .recipes import RECIPES
from .trainer import TrainConfig, resolve_device, train


@dataclass
class RunConfig(TrainConfig):
    """One command-line run: the trainer's settings, plus the model, the recipe and the data. `steps` or `epochs`
    (else the recipe's length) and `batch_size` (else the recipe's) are global, over all processes;
    `train_size`/`test_size` use the first images only (quick CPU runs); with `synthetic`, a generated stand-in
    of that many images (default 5000 and 1000) replaces CIFAR-10. results.json records all of it."""

    model: str = "resnet20"
    recipe: str = "paper"
    steps: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    validation_size: int = 0  # > 0: hold out this many training images (He et al. use 5000) and evaluate on them
    train_size: int | None = None
    test_size: int | None = None
    data_dir: str | None = None
    synthetic: bool = False


def parse_config(argv=None):
    """A RunConfig from command-line flags named after its fields (--out-dir for out_dir, --compile, ...)."""
    parser = argparse.ArgumentParser(prog="python -m capstone", description=__doc__.splitlines()[0])
    for field in dataclasses.fields(RunConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            kind = int if "int" in str(field.type) else str
            parser.add_argument(
                flag, type=kind, default=field.default, choices=sorted(RECIPES) if field.name == "recipe" else None
            )
    return RunConfig(**vars(parser.parse_args(argv)))


def prepare_data(config):
    """CIFAR-10 from `config.data_dir` (or the synthetic stand-in), cut to train_size/test_size, with a validation
    split when asked."""
    if config.synthetic:
        data = synthetic_cifar10(config.train_size or 5000, config.test_size or 1000)
    else:
        data = load_cifar10(config.data_dir)
    if config.validation_size:
        data = split_validation(data, config.validation_size, seed=config.seed)
    for split, size in (("", config.train_size), ("_test", config.test_size)):
        if size is not None:
            data[f"x{split}"], data[f"y{split}"] = data[f"x{split}"][:size], data[f"y{split}"][:size]
    return data


def main(argv=None):
    config = parse_config(argv)
    # torchrun sets LOCAL_RANK: one process per GPU, NCCL between GPUs, gloo on CPUs. A single process under
    # torchrun runs the distributed code too (DistributedDataParallel over one replica), which is how one GPU
    # checks that path.
    distributed = "LOCAL_RANK" in os.environ
    if distributed:
        if resolve_device(config.device).type == "cuda":
            local_rank = int(os.environ["LOCAL_RANK"])
            torch.cuda.set_device(local_rank)
            config.device = f"cuda:{local_rank}"
        dist.init_process_group("nccl" if resolve_device(config.device).type == "cuda" else "gloo")
    try:
        data = prepare_data(config)
        torch.manual_seed(config.seed)  # the same initial weights in every process
        model = build_model(config.model)
        recipe = RECIPES[config.recipe](
            model.depth, len(data["x"]), batch_size=config.batch_size, steps=config.steps, epochs=config.epochs
        )
        summary = train(model, data, recipe, config)
        prints = not distributed or dist.get_rank() == 0
    finally:
        if distributed:
            dist.destroy_process_group()
    if prints and summary["history"]:
        last = summary["history"][-1]
        print(
            f"{config.model} ({config.recipe}): {summary['step']} steps, train loss {last['train_loss']:.4f}, "
            f"test accuracy {last.get('test_accuracy', float('nan')):.4f}"
            + (", diverged" if summary["diverged"] else "")
        )
    return 1 if summary["diverged"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
