"""The CIFAR-10 reader: both on-disk formats, the MD5 check, and the messages when the data is missing or wrong."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from capstone.cifar10 import CIFAR10_MD5, FOLDER_NAME, TEST_BATCH, TRAIN_BATCHES, load_cifar10, split_validation


def write_cifar10_like(directory, images_per_batch=20, seed=0, archive=False):
    """Write a small CIFAR-10 of the official format under `directory`: pickled dicts with uint8 `data`
    (N, 3072: the R, G, B planes of each image) and a list of `labels`, in cifar-10-batches-py/ or, with
    `archive`, in cifar-10-python.tar.gz. Returns (the arrays as the reader should return them, the archive's MD5
    or None)."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        data = rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, images_per_batch).tolist()
        batches[name] = pickle.dumps(
            {
                b"batch_label": name.encode(),
                b"labels": labels,
                b"data": data,
                b"filenames": [b"x.png"] * images_per_batch,
            },
            protocol=2,
        )
    if archive:
        path = directory / "cifar-10-python.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            for name, content in batches.items():
                member = tarfile.TarInfo(f"{FOLDER_NAME}/{name}")
                member.size = len(content)
                tar.addfile(member, io.BytesIO(content))
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
    else:
        (directory / FOLDER_NAME).mkdir(parents=True)
        for name, content in batches.items():
            (directory / FOLDER_NAME / name).write_bytes(content)
        md5 = None
    unpickled = {name: pickle.loads(content) for name, content in batches.items()}
    expected = {
        "x": np.concatenate([unpickled[name][b"data"] for name in TRAIN_BATCHES]).reshape(-1, 3, 32, 32),
        "y": np.concatenate([unpickled[name][b"labels"] for name in TRAIN_BATCHES]),
        "x_test": unpickled[TEST_BATCH][b"data"].reshape(-1, 3, 32, 32),
        "y_test": np.array(unpickled[TEST_BATCH][b"labels"]),
    }
    return expected, md5


def assert_same_data(loaded, expected):
    assert set(loaded) == {"x", "y", "x_test", "y_test"}
    for name in expected:
        np.testing.assert_array_equal(loaded[name], expected[name])
    assert loaded["x"].dtype == np.uint8 and loaded["x"].shape == (100, 3, 32, 32)
    assert loaded["y"].dtype == np.int64


def test_reads_the_extracted_folder(tmp_path):
    expected, _ = write_cifar10_like(tmp_path)
    assert_same_data(load_cifar10(tmp_path), expected)


def test_reads_the_archive_after_checking_its_md5(tmp_path):
    expected, md5 = write_cifar10_like(tmp_path, archive=True)
    assert_same_data(load_cifar10(tmp_path, expected_md5=md5), expected)


def test_channels_are_planes_of_the_flat_rows(tmp_path):
    expected, _ = write_cifar10_like(tmp_path)
    loaded = load_cifar10(tmp_path)
    raw = pickle.loads((tmp_path / FOLDER_NAME / TRAIN_BATCHES[0]).read_bytes())[b"data"]
    # Official layout: the first 1024 bytes of a row are the red plane, row by row.
    np.testing.assert_array_equal(loaded["x"][0, 0, 1], raw[0, 32:64])
    np.testing.assert_array_equal(loaded["x"][0, 2, 31], raw[0, 3072 - 32 :])


def test_an_archive_with_another_checksum_is_refused(tmp_path):
    write_cifar10_like(tmp_path, archive=True)
    # The default expected checksum is the official archive's, which the small test archive is not.
    assert CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
    with pytest.raises(ValueError, match="MD5 .* expected c58f30108f718f92721af3b95e74349a"):
        load_cifar10(tmp_path)


def test_missing_data_says_where_to_put_it_and_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "cifar-10-python.tar.gz" in message and "--download" in message


def test_split_validation_holds_out_disjoint_images(tmp_path):
    expected, _ = write_cifar10_like(tmp_path)
    data = split_validation(load_cifar10(tmp_path), size=30, seed=1)
    assert len(data["x"]) == 70 and len(data["x_val"]) == 30 and len(data["x_test"]) == 20
    rows = {image.tobytes() for image in expected["x"]}
    kept = {image.tobytes() for image in data["x"]}
    held = {image.tobytes() for image in data["x_val"]}
    assert kept | held == rows and not kept & held
