"""MNIST-1D (Greydanus, 2020), generated offline and cached, with a fixed validation split.

4000 training and 1000 test sequences of length 40, ten classes. `mnist1d.data.get_dataset` tries a
download first, so we call the generator `make_dataset` directly and cache the arrays. 500 of the training
sequences are held out as the validation split every lesson chooses its hyperparameters on; the test set is
for the one final figure.
"""

import os
import random
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """Where generated data sets are kept: $OPTDEEP_CACHE, else the user's cache folder."""
    if "OPTDEEP_CACHE" in os.environ:
        return Path(os.environ["OPTDEEP_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "optimization-deep"


VALIDATION_SIZE = 500


def load_mnist1d(seed: int = 42) -> dict:
    """Return ``{"x", "y", "x_val", "y_val", "x_test", "y_test"}``: float32 inputs (N, 40) and int64 labels.

    3500 training, 500 validation (always the same ones) and 1000 test sequences. The first call generates
    the data (about 2 s) and caches it as an .npz file; later calls read it.
    """
    path = cache_dir() / f"mnist1d-seed{seed}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = _generate(seed)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)  # atomic, so parallel first calls cannot read a half-written file
    with np.load(path) as stored:
        return split_validation({name: stored[name] for name in ("x", "y", "x_test", "y_test")}, VALIDATION_SIZE)


def split_validation(data: dict, size: int, seed: int = 0) -> dict:
    """Hold out `size` random training examples as ``x_val, y_val``, the same ones for the same `seed`.

    The test set is kept as it is; the held-out examples leave ``x, y``.
    """
    order = np.random.default_rng(seed).permutation(len(data["x"]))
    held_out, kept = order[:size], order[size:]
    return {
        **data,
        "x": data["x"][kept],
        "y": data["y"][kept],
        "x_val": data["x"][held_out],
        "y_val": data["y"][held_out],
    }


def _generate(seed: int) -> dict:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    # make_dataset reseeds the global NumPy and `random` generators; give the caller theirs back.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {
        "x": data["x"].astype(np.float32),
        "y": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }
