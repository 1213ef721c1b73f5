"""Course-wide settings: the environment's fast mode, and the look of every plot.

`COURSE_FAST=1` makes every notebook run on a 2-core CPU in well under a minute (smaller data,
fewer steps); tests and the autograder set it.
"""
import os

# Okabe-Ito palette: distinguishable with the common forms of colour blindness. Black comes last, for
# reference lines; greys are fine too (tests/plot_accessibility.py accepts exactly these and greys).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def fast_mode() -> bool:
    """True when the environment asks for the small, quick version of every experiment."""
    return os.environ.get("COURSE_FAST", "").strip().lower() in ("1", "true", "yes", "on")


def sized(fast, full):
    """Return `fast` in fast mode and `full` otherwise, e.g. `steps = sized(100, 2000)`."""
    return fast if fast_mode() else full


def use_course_style() -> None:
    """Make matplotlib's defaults the course's: colours from PALETTE in order, text no smaller than 9 pt.

    Every lesson's setup cell calls it, so a plot that names no colour is still colour-blind safe and
    a legend stays readable when a notebook is projected.
    """
    import matplotlib as mpl  # here, not at the top: the fast-mode helpers above need no plotting

    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "font.size": 10,
        "legend.fontsize": 9,
        "axes.titlesize": 11,
        "image.cmap": "viridis",
    })
