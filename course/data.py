"""MNIST-1D (Greydanus, 2020), generated offline and cached.

4000 training and 1000 test sequences of length 40, ten classes. `mnist1d.data.get_dataset` tries a
download first, so we call the generator `make_dataset` directly and cache the arrays.
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


def load_mnist1d(seed: int = 42) -> dict:
    """Return ``{"x", "y", "x_test", "y_test"}``: float32 inputs (N, 40) and int64 labels.

    The first call generates the data (about 2 s) and caches it as an .npz file; later calls read it.
    """
    path = cache_dir() / f"mnist1d-seed{seed}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = _generate(seed)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)  # atomic, so parallel first calls cannot read a half-written file
    with np.load(path) as stored:
        return {name: stored[name] for name in ("x", "y", "x_test", "y_test")}


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
