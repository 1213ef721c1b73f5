"""CIFAR-10 read from local files: the official `cifar-10-python.tar.gz` (MD5-checked) or its extracted folder.

Nothing is downloaded unless asked: ``python -m capstone.cifar10 --download`` fetches the
archive once (about 163 MiB) into the data folder, $OPTDEEP_DATA or else the course cache folder.
Images come back as uint8 arrays (N, 3, 32, 32) in the official order (R, G, B planes of 32x32 rows), so
the whole training set takes 150 MiB and can live on a GPU; conversion to float happens there.
"""

import argparse
import hashlib
import io
import os
import pickle
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from course.data import cache_dir, split_validation  # noqa: F401  (split_validation: the capstones hold out 45k/5k)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def data_dir() -> Path:
    """Where CIFAR-10 is looked for: $OPTDEEP_DATA, else the course cache folder."""
    return Path(os.environ["OPTDEEP_DATA"]) if "OPTDEEP_DATA" in os.environ else cache_dir()


def file_md5(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_batch(file):
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from one pickled batch of the official format."""
    batch = pickle.load(file, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)


def _assemble(open_batch):
    train = [_read_batch(open_batch(name)) for name in TRAIN_BATCHES]
    x_test, y_test = _read_batch(open_batch(TEST_BATCH))
    return {
        "x": np.concatenate([images for images, _ in train]),
        "y": np.concatenate([labels for _, labels in train]),
        "x_test": x_test,
        "y_test": y_test,
    }


def load_cifar10(directory=None, expected_md5=CIFAR10_MD5) -> dict:
    """Return ``{"x", "y", "x_test", "y_test"}``: uint8 images (N, 3, 32, 32) and int64 labels.

    Looks in `directory` (default `data_dir()`) for the folder ``cifar-10-batches-py/`` first, then the
    archive ``cifar-10-python.tar.gz``, which is read in place after its MD5 is checked against
    `expected_md5` (the official archive's by default; tests pass that of the small archive they build).
    """
    directory = Path(directory) if directory is not None else data_dir()
    folder, archive = directory / FOLDER_NAME, directory / ARCHIVE_NAME
    if folder.is_dir():
        missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: extract the whole archive there again")
        return _assemble(lambda name: io.BytesIO((folder / name).read_bytes()))
    if archive.is_file():
        actual = file_md5(archive)
        if actual != expected_md5:
            raise ValueError(
                f"{archive} has MD5 {actual}, expected {expected_md5}: the file is incomplete or not "
                f"the official archive. Delete it and download it again."
            )
        wanted = {f"{FOLDER_NAME}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH)}
        contents = {}
        # One pass in archive order: looking members up by name would decompress the gzip stream again.
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name in wanted:
                    contents[Path(member.name).name] = tar.extractfile(member).read()
        missing = sorted(wanted - {f"{FOLDER_NAME}/{name}" for name in contents})
        if missing:
            raise ValueError(f"{archive} lacks {', '.join(missing)}")
        return _assemble(lambda name: io.BytesIO(contents[name]))
    raise FileNotFoundError(
        f"CIFAR-10 not found in {directory}. Put {ARCHIVE_NAME} (from {CIFAR10_URL}) or its extracted "
        f"{FOLDER_NAME}/ folder there, set OPTDEEP_DATA to the folder that holds them, or download it once with\n"
        f"    python -m capstone.cifar10 --download --data-dir {directory}"
    )


def download_cifar10(directory=None) -> Path:
    """Download the official archive into `directory` (default `data_dir()`) and check its MD5. Needs internet."""
    directory = Path(directory) if directory is not None else data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / ARCHIVE_NAME
    if archive.is_file() and file_md5(archive) == CIFAR10_MD5:
        return archive
    partial = archive.with_suffix(f".{os.getpid()}.part")
    urllib.request.urlretrieve(CIFAR10_URL, partial)
    actual = file_md5(partial)
    if actual != CIFAR10_MD5:
        partial.unlink()
        raise ValueError(f"downloaded {CIFAR10_URL} has MD5 {actual}, expected {CIFAR10_MD5}: try again")
    os.replace(partial, archive)  # atomic: a reader never sees a half-written archive
    return archive


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m capstone.cifar10", description="Check for, or explicitly download, CIFAR-10."
    )
    parser.add_argument("--data-dir", type=Path, default=None, help=f"folder (default {data_dir()})")
    parser.add_argument("--download", action="store_true", help="download the official archive (needs internet)")
    args = parser.parse_args(argv)
    if args.download:
        print(f"saved {download_cifar10(args.data_dir)}")
    try:
        data = load_cifar10(args.data_dir)
    except (FileNotFoundError, ValueError) as problem:  # missing data or a failed checksum: say so, no traceback
        print(problem, file=sys.stderr)
        return 1
    print(f"CIFAR-10 ready: {len(data['x'])} training and {len(data['x_test'])} test images")
    return 0


def synthetic_cifar10(train_size=512, test_size=256, seed=0, noise=48.0, image_size=32, patterns_per_class=1) -> dict:
    """A tiny CIFAR-10 stand-in in `load_cifar10`'s format, for smoke runs without the real data set.

    Each of the 10 classes has a smooth random colour pattern (a 4x4 grid of colours, blown up to 32x32);
    an image is its class's pattern plus independent Gaussian pixel noise of standard deviation `noise`,
    rounded to uint8. The label is thus a function of the image that a small convolutional net learns in a
    few epochs, even through random crops and flips. Returns ``{"x", "y", "x_test", "y_test"}``: uint8
    images (N, 3, 32, 32) and int64 labels, every class equally likely.

    A harder variant, for experiments that must not end at zero training error: `patterns_per_class` patterns
    per class (an image shows one of its class's, each equally likely), so that a class is a union of unrelated
    looks to be learnt one by one, and `image_size` (a multiple of 4) for smaller, cheaper images.
    """
    rng = np.random.default_rng(seed)
    cell = image_size // 4
    patterns = rng.uniform(-80, 80, size=(len(CLASSES) * patterns_per_class, 3, 4, 4)).repeat(cell, 2).repeat(cell, 3)

    def draw(count):
        # Pattern k belongs to class k // patterns_per_class: with one pattern a class, the pattern is the label.
        shown = rng.integers(0, len(patterns), size=count)
        images = 128 + patterns[shown] + rng.normal(0, noise, size=(count, 3, image_size, image_size))
        return np.clip(np.rint(images), 0, 255).astype(np.uint8), (shown // patterns_per_class).astype(np.int64)

    x, y = draw(train_size)
    x_test, y_test = draw(test_size)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


if __name__ == "__main__":
    raise SystemExit(main())
