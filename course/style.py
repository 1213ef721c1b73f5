"""The look of every plot: a colour-blind-safe palette and readable text sizes."""

# Okabe-Ito palette: distinguishable with the common forms of colour blindness. Black comes last, for
# reference lines; greys are fine too (tests/plot_accessibility.py accepts exactly these and greys).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def use_course_style() -> None:
    """Make matplotlib's defaults the course's: colours from PALETTE in order, text no smaller than 9 pt.

    Every lesson's setup cell calls it, so a plot that names no colour is still colour-blind safe and
    a legend stays readable when a notebook is projected.
    """
    import matplotlib as mpl  # here, not at the top: `import course` stays free of matplotlib

    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "font.size": 10,
            "legend.fontsize": 9,
            "axes.titlesize": 11,
            "image.cmap": "viridis",
        }
    )
