"""Data sets, generated or read locally: nothing is downloaded at run time."""
from .mnist1d import load_mnist1d

__all__ = ["load_mnist1d"]
