"""Command line for the capstones' training: what notebooks 08 and 09 run, on one device or under torchrun.

    python -m capstone --model resnet56 --recipe paper --out-dir runs/resnet56-seed0
    torchrun --nproc_per_node 4 -m capstone --model resnet110 --recipe fast --out-dir runs/r110
"""
import argparse
import dataclasses
import os

import torch
import torch.distributed as dist

from .trainer import TrainConfig, resolve_device, train_cifar
from .recipes import RECIPES


def parse_config(argv=None):
    """A TrainConfig from command-line flags named after its fields (--out-dir for out_dir, --compile, ...)."""
    parser = argparse.ArgumentParser(prog="python -m capstone", description=__doc__.splitlines()[0])
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            kind = int if "int" in str(field.type) else str
            parser.add_argument(flag, type=kind, default=field.default,
                                choices=sorted(RECIPES) if field.name == "recipe" else None)
    return TrainConfig(**vars(parser.parse_args(argv)))


def main(argv=None):
    config = parse_config(argv)
    # torchrun sets WORLD_SIZE and LOCAL_RANK: one process per GPU, NCCL between GPUs, gloo on CPUs.
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        if resolve_device(config.device).type == "cuda":
            local_rank = int(os.environ["LOCAL_RANK"])
            torch.cuda.set_device(local_rank)
            config.device = f"cuda:{local_rank}"
        dist.init_process_group("nccl" if resolve_device(config.device).type == "cuda" else "gloo")
    try:
        trainer = train_cifar(config)
    finally:
        if distributed:
            dist.destroy_process_group()
    if trainer.rank == 0 and trainer.history:
        last = trainer.history[-1]
        print(f"{config.model} ({config.recipe}): {trainer.step} steps, train loss {last['train_loss']:.4f}, "
              f"test accuracy {last.get('test_accuracy', float('nan')):.4f}")


if __name__ == "__main__":
    main()
