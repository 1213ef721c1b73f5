"""MNIST-1D: generated offline, cached, deterministic, and polite to the caller's random state."""

import random
import socket
from types import SimpleNamespace

import numpy as np
import pytest

from course import data as mnist1d_module
from course.data import load_mnist1d

SEED = 42


@pytest.fixture(scope="module")
def first_call(tmp_path_factory):
    """One real generation (about 2 s) into an empty cache, with the network cut and the global RNGs seeded.

    Records any name look-up or connection attempt (even one the library would catch and recover from)
    and what the global NumPy and `random` generators draw right after the call.
    """
    cache = tmp_path_factory.mktemp("cache")
    attempts = []

    def refuse(*args):
        attempts.append(args)
        raise OSError(f"network access during a test: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTDEEP_CACHE", str(cache))
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)  # name lookups come before any connect
        np.random.seed(7)
        random.seed(7)
        data = load_mnist1d(seed=SEED)
        draws_after = (np.random.random(3), random.random())
    return SimpleNamespace(cache=cache, data=data, attempts=attempts, draws_after=draws_after)


def assert_same_data(a, b):
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_shapes_dtypes_and_ten_classes(first_call):
    data = first_call.data
    assert set(data) == {"x", "y", "x_val", "y_val", "x_test", "y_test"}
    assert data["x"].shape == (3500, 40) and data["x"].dtype == np.float32
    assert data["x_val"].shape == (500, 40) and data["x_val"].dtype == np.float32
    assert data["y_val"].shape == (500,) and data["y_val"].dtype == np.int64
    assert data["x_test"].shape == (1000, 40) and data["x_test"].dtype == np.float32
    assert data["y"].shape == (3500,) and data["y"].dtype == np.int64
    assert data["y_test"].shape == (1000,) and data["y_test"].dtype == np.int64
    assert set(np.unique(data["y"])) == set(range(10)) == set(np.unique(data["y_test"]))
    assert np.all(np.isfinite(data["x"])) and np.all(np.isfinite(data["x_test"]))


def test_generation_makes_no_network_connection(first_call):
    assert first_call.attempts == []


def test_generation_leaves_the_global_random_generators_as_they_were(first_call):
    np.random.seed(7)
    random.seed(7)
    expected_numpy, expected_python = np.random.random(3), random.random()
    np.testing.assert_array_equal(first_call.draws_after[0], expected_numpy)
    assert first_call.draws_after[1] == expected_python


def test_first_call_leaves_exactly_one_cache_file(first_call):
    files = list(first_call.cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz", files


def test_second_call_reads_the_cache_instead_of_generating(first_call, monkeypatch):
    monkeypatch.setenv("OPTDEEP_CACHE", str(first_call.cache))

    def must_not_generate(seed):
        raise AssertionError("load_mnist1d generated the data again instead of reading its cache")

    monkeypatch.setattr(mnist1d_module, "_generate", must_not_generate)
    assert_same_data(load_mnist1d(seed=SEED), first_call.data)


def test_same_seed_gives_the_same_data_in_a_fresh_cache(first_call, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTDEEP_CACHE", str(tmp_path))
    assert_same_data(load_mnist1d(seed=SEED), first_call.data)


def test_another_seed_gives_other_data(first_call, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTDEEP_CACHE", str(tmp_path))
    other = load_mnist1d(seed=SEED + 1)
    assert other["x"].shape == first_call.data["x"].shape
    assert not np.array_equal(other["x"], first_call.data["x"])


def test_cache_folder_defaults_to_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("OPTDEEP_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert mnist1d_module.cache_dir() == tmp_path / "optimization-deep"


def test_the_validation_split_is_fixed_and_disjoint_from_training(first_call):
    data = first_call.data
    with np.load(next(first_call.cache.glob("*.npz"))) as stored:
        generated_x, generated_y = stored["x"], stored["y"]
    rows = {row.tobytes(): label for row, label in zip(generated_x, generated_y)}
    training, validation = {row.tobytes() for row in data["x"]}, {row.tobytes() for row in data["x_val"]}
    assert not training & validation and training | validation == set(rows)
    assert all(rows[row.tobytes()] == label for row, label in zip(data["x_val"], data["y_val"]))
    assert_same_data(load_mnist1d(seed=SEED), data)  # the same 500 every time
