"""The capstones' one CIFAR training loop on the CPU: augmentation, recipes, exact resume, divergence, CLI,
DDP (gloo), and the optimizer, schedule and clipping a notebook injects."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from capstone.augment import random_crop_flip
from capstone.recipes import RECIPES, paper_schedule
from capstone.trainer import TrainConfig, Trainer, TrainingDiverged, apply_schedule, train
from reference_impl.models import build_model
from test_cifar10 import write_cifar10_like

ROOT = Path(__file__).resolve().parents[1]


def tiny_data(train=256, test=64, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.integers(0, 256, (train, 3, 32, 32), dtype=np.uint8),
        "y": rng.integers(0, 10, train),
        "x_test": rng.integers(0, 256, (test, 3, 32, 32), dtype=np.uint8),
        "y_test": rng.integers(0, 10, test),
    }


def tiny_config(**overrides):
    return TrainConfig(**{"device": "cpu", "progress": False, "seed": 3, **overrides})


def paper_recipe_for(data, epochs=3):
    """The paper's recipe for ResNet-8 at batch 64, as the command line builds it."""
    return RECIPES["paper"](8, len(data["x"]), batch_size=64, epochs=epochs)


def tiny_trainer(data, epochs=3, **overrides):
    """A Trainer of ResNet-8 (initialized from the config's seed, as the command line does) with the paper's recipe."""
    config = tiny_config(**overrides)
    torch.manual_seed(config.seed)
    return Trainer(build_model("resnet8"), data, paper_recipe_for(data, epochs), config)


# --- augmentation --------------------------------------------------------------------------------------------
def test_crop_flip_keeps_shapes_and_pads_with_zeros():
    generator = torch.Generator().manual_seed(0)
    images = torch.full((500, 3, 32, 32), 7, dtype=torch.uint8)
    out = random_crop_flip(images, generator)
    assert out.shape == images.shape and out.dtype == torch.uint8
    # A window shifted by k pixels shows k rows or columns of padding: zeros, the rest the image.
    assert set(out.unique().tolist()) == {0, 7}
    assert (out == 0).any() and (out == 7).all(dim=(1, 2, 3)).any()


def test_crop_offsets_and_flips_have_the_expected_frequencies():
    generator = torch.Generator().manual_seed(1)
    # A ramp along the width: after crop + flip the first column tells the offset and the direction.
    ramp = torch.arange(1, 33, dtype=torch.int64).view(1, 1, 1, 32).expand(4000, 1, 32, 32).clone()
    out = random_crop_flip(ramp, generator)
    middle = out[:, 0, 16]  # a row that no vertical shift can move into the padding
    flipped = middle[:, 16] > middle[:, 17]
    assert abs(flipped.float().mean().item() - 0.5) < 0.03
    # Read right to left, a flipped row is an unflipped one. A window at horizontal offset dx (0..8) shows
    # ramp value j + dx - 3 in column j, and 0 where that falls in the padding.
    unflipped = torch.where(flipped[:, None], middle.flip(-1), middle)
    offsets = unflipped[:, 16] - 13
    values = torch.arange(32) + offsets[:, None] - 3
    torch.testing.assert_close(unflipped, torch.where((values >= 1) & (values <= 32), values, 0), rtol=0, atol=0)
    counts = torch.bincount(offsets, minlength=9)
    assert counts.numel() == 9, counts
    expected = len(offsets) / 9
    assert ((counts - expected).abs() < 0.15 * expected).all(), counts


def test_crop_flip_is_reproducible_under_a_seed():
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    first = random_crop_flip(images, torch.Generator().manual_seed(5))
    assert torch.equal(first, random_crop_flip(images, torch.Generator().manual_seed(5)))


# --- recipes -------------------------------------------------------------------------------------------------
def test_paper_schedule_divides_by_ten_at_32k_and_48k():
    lr_at = paper_schedule(64000)
    assert [lr_at(s) for s in (0, 31999, 32000, 47999, 48000, 63999)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    )


def test_resnet110_warmup_returns_to_0_1_and_keeps_the_milestones():
    recipe = RECIPES["paper"](110, 50000, steps=64000)
    lr_at, momentum_at = recipe.lr_at, recipe.momentum_at
    assert momentum_at is None
    assert [lr_at(s) for s in (0, 399, 400, 31999, 32000, 48000)] == pytest.approx([0.01, 0.01, 0.1, 0.1, 0.01, 0.001])
    # And through torch's optimizer, as the training loop drives it.
    model = torch.nn.Linear(2, 2)
    optimizer = recipe.make_optimizer(model.parameters())
    lrs = []
    for step in range(401):
        apply_schedule(optimizer, recipe, step)
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[399] == pytest.approx(0.01) and lrs[400] == pytest.approx(0.1)
    assert RECIPES["paper"](56, 50000, steps=64000).lr_at(0) == pytest.approx(0.1)  # only ResNet-110 warms up


def test_fast_recipe_is_one_cycle_with_momentum_cycling():
    recipe = RECIPES["fast"](20, 50000, steps=1000)
    lr_at, momentum_at = recipe.lr_at, recipe.momentum_at
    assert lr_at(249) == pytest.approx(0.4) and lr_at(0) == pytest.approx(0.4 / 25)
    assert momentum_at(249) == pytest.approx(0.85) and momentum_at(999) == pytest.approx(0.95)
    assert lr_at(1000) == lr_at(999)  # asked once past the end: stays at the final value


# --- the loop ------------------------------------------------------------------------------------------------
def test_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    data = tiny_data()
    uninterrupted = tiny_trainer(data)
    uninterrupted.run()

    first_part = tiny_trainer(data)
    first_part.train_epoch()
    first_part.save_checkpoint(tmp_path / "checkpoint.pt")
    resumed = tiny_trainer(data, seed=99)  # the checkpoint, not the seed, decides what follows
    resumed.load_checkpoint(tmp_path / "checkpoint.pt")
    resumed.run()

    assert resumed.step == uninterrupted.step == 12
    for (name, expected), actual in zip(uninterrupted.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(expected, actual), name
    assert [row["train_loss"] for row in resumed.history] == [row["train_loss"] for row in uninterrupted.history]


def test_run_writes_results_and_resumes_from_out_dir(tmp_path):
    def train_tiny(epochs, **overrides):
        torch.manual_seed(3)
        return train(
            build_model("resnet8"),
            tiny_data(),
            paper_recipe_for(tiny_data(), epochs),
            tiny_config(out_dir=str(tmp_path), **overrides),
        )

    trainer = train_tiny(2)
    summary = json.loads((tmp_path / "results.json").read_text())
    assert [row["epoch"] for row in summary["history"]] == [1, 2]
    assert {"train_loss", "test_accuracy", "lr", "images_per_second"} <= set(summary["history"][0])
    assert (tmp_path / "results.csv").read_text().count("\n") == 3
    # Asked for more epochs with resume, it continues from the checkpoint instead of starting again.
    longer = train_tiny(3, resume=True)
    assert longer["step"] == 12 and [row["epoch"] for row in longer["history"]] == [1, 2, 3]
    assert longer["history"][:2] == trainer["history"]


def test_nan_loss_stops_with_a_clear_message():
    trainer = tiny_trainer(tiny_data(), nan_check_every=2)
    with torch.no_grad():
        trainer.model.fc.bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN or infinite at step 1 .*lower the learning rate"):
        trainer.run()
    assert trainer.step == 2  # noticed at the first check, without reading the loss back every step


def three_step_run(data_dir, out_dir, *more):
    """The command-line arguments of a three-step run of resnet8 with the "fast" recipe, quietly, then `more`."""
    run = ["--model", "resnet8", "--recipe", "fast", "--steps", "3", "--batch-size", "32", "--no-progress"]
    return [*run, "--data-dir", str(data_dir), "--out-dir", str(out_dir), *more]


def run_capstone(arguments, launcher=(sys.executable,)):
    """`python -m capstone ARGUMENTS` (or under another launcher, such as torchrun) on one thread; must succeed."""
    result = subprocess.run(
        [*launcher, "-m", "capstone", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr


def test_cli_trains_on_a_local_archive(tmp_path):
    write_cifar10_like(tmp_path, images_per_batch=20)  # the folder format: no checksum to pass
    out = tmp_path / "run"
    run_capstone(three_step_run(tmp_path, out, "--validation-size", "20"))
    history = json.loads((out / "results.json").read_text())["history"]
    assert history[-1]["step"] == 3 and "val_accuracy" in history[-1] and "test_accuracy" in history[-1]


def test_compile_mode_reaches_torch_compile(monkeypatch):
    modes = []
    monkeypatch.setattr(torch, "compile", lambda network, mode=None: modes.append(mode) or network)
    tiny_trainer(tiny_data(train=64), compile=True, compile_mode="reduce-overhead")
    assert modes == ["reduce-overhead"]


# --- several processes ---------------------------------------------------------------------------------------
def ddp_worker(rank, world_size, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        trainer = tiny_trainer(tiny_data(train=128), epochs=1)
        trainer.run()
        torch.save(trainer.model.state_dict(), Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_with_gloo_keeps_replicas_identical(tmp_path):
    mp.spawn(ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    states = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    initial = tiny_trainer(tiny_data(train=128)).model.state_dict()
    changed = False
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]) or "running" in name or "num_batches" in name, name
        changed |= not torch.equal(value, initial[name])
    assert changed


@pytest.mark.slow
def test_one_process_under_torchrun_runs_ddp_and_gives_the_single_process_result(tmp_path):
    """torchrun --nproc_per_node 1 wraps the model in DistributedDataParallel (gloo here, NCCL on a GPU), which is
    how one GPU checks the distributed path; with one replica it must train exactly as a plain process."""
    run = ["--model", "resnet8", "--recipe", "fast", "--synthetic", "--train-size", "96", "--test-size", "32"]
    run += ["--steps", "8", "--batch-size", "32", "--deterministic", "--no-progress"]
    launchers = {
        "single": [sys.executable],
        "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1"],
    }
    summaries = {}
    for name, launcher in launchers.items():
        run_capstone([*run, "--out-dir", str(tmp_path / name)], launcher)
        summaries[name] = json.loads((tmp_path / name / "results.json").read_text())
    assert (summaries["single"]["backend"], summaries["torchrun"]["backend"]) == (None, "gloo")
    assert summaries["torchrun"]["world_size"] == 1
    losses = {name: [row["train_loss"] for row in summary["history"]] for name, summary in summaries.items()}
    assert losses["torchrun"] == losses["single"]
