"""Data sets, generated or read locally: nothing is downloaded at run time."""
from .mnist1d import load_mnist1d
from .cifar10 import CIFAR10_MD5, download_cifar10, load_cifar10, split_validation

__all__ = ["load_mnist1d", "CIFAR10_MD5", "download_cifar10", "load_cifar10", "split_validation"]
