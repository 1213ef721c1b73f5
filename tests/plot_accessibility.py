"""Accessibility basics of a matplotlib figure, checked automatically: `problems(figure)` lists what is wrong.

**Accessibility of plots.** Every figure in the course, in the notebooks and in the interactive views, is
checked for what a reader who cannot rely on colour, or who reads a projected or zoomed-out page, needs most:
- every panel that shows data has a title, and both its axes have labels (panels turned off with
  ``axis('off')``, e.g. a grid of images, are exempt);
- an axis label that names a time (seconds, wall-clock, elapsed) gives its unit: "time (s)", "ms";
- a panel with two or more labelled curves has a legend (one legend may serve several panels: the labels only
  need to appear in some legend of the figure);
- lines, markers, patches and scatter points use the Okabe-Ito palette (`course.PALETTE`), black,
  white or greys, which stay distinguishable with the common forms of colour blindness;
- images and colour meshes use a perceptually uniform colour map: viridis, cividis, magma, inferno, plasma or a
  grey ramp. For signed data centred on zero a diverging map is the right kind, and coolwarm, RdBu and PuOr are
  allowed: they run from blue to red or orange to purple, which protanopes and deuteranopes can still tell apart,
  and their lightness is symmetric about the centre. Rainbow maps (jet, hsv) and red-green diverging maps are not;
- no text is smaller than 8 pt.
`course.use_course_style()` (each lesson's setup cell calls it) makes the palette the default
colour cycle, so most of this holds without thinking about it.

What this cannot check, and a reviewer should: whether a title says what the reader should see; whether a
unit other than time is named and right (a label that says "loss" has none, "gradient norm" has none, but only a
person knows whether a quantity has one); whether curves that overlap stay distinguishable (line styles or
markers help, colour alone does not); whether colours mean the same thing across the panels of one figure;
contrast against a background or a filled area; whether the text of the notebook describes each figure for a
reader who cannot see it; and how large the text is once the browser scales the image.
"""

import re

from matplotlib.collections import Collection
from matplotlib.colors import ListedColormap, to_rgb, to_rgba_array
from matplotlib.image import AxesImage
from matplotlib.text import Text

from course import PALETTE

SMALLEST_FONT_PT = 8
UNIFORM_COLORMAPS = {
    "viridis",
    "cividis",
    "magma",
    "inferno",
    "plasma",
    "gray",
    "grey",
    "Greys",
    "binary",
    "gist_gray",
    "gist_yarg",
}
DIVERGING_COLORMAPS = {"coolwarm", "RdBu", "PuOr"}
TIME_WORDS = re.compile(r"\b(time|seconds|elapsed|duration|wall[- ]clock|latency)\b", re.IGNORECASE)
TIME_UNITS = ("(s", " s)", " s,", "ms", "µs", "seconds", "minutes", "min)", "hours", "(h")

_PALETTE_RGB = {tuple(round(channel, 3) for channel in to_rgb(color)) for color in PALETTE}


def problems(figure) -> list[str]:
    """Plain-language accessibility problems of `figure` (a matplotlib Figure); empty when it passes."""
    found = []
    legend_labels = _legend_labels(figure)
    for index, axes in enumerate(figure.axes):
        if not _shows_data(axes):
            continue
        name = f"panel {index + 1} ({axes.get_title() or 'untitled'})"
        found += [f"{name}: {problem}" for problem in _axes_problems(axes, legend_labels)]
    found += _text_problems(figure)
    return found


def _axes_problems(axes, legend_labels):
    found = []
    if not axes.get_title() and not _twin_of_titled_axes(axes):
        found.append("has no title (a figure title does not name a panel)")
    if axes.axison:
        for letter, axis in (("x", axes.xaxis), ("y", axes.yaxis)):
            label = axis.get_label_text()
            if axis.get_visible() and not label:
                found.append(f"its {letter} axis has no label")
            if TIME_WORDS.search(label) and not any(unit in label for unit in TIME_UNITS):
                found.append(f"its {letter} axis label {label!r} names a time but not its unit (s, ms, ...)")
    labelled = [
        artist.get_label()
        for artist in [*axes.lines, *axes.collections, *axes.patches]
        if not artist.get_label().startswith("_")
    ]
    unexplained = sorted(set(labelled) - legend_labels)
    if len(labelled) > 1 and unexplained:
        found.append(f"shows {len(labelled)} labelled curves but no legend names {', '.join(unexplained)}")
    found += _colour_problems(axes)
    return found


def _colour_problems(axes):
    found = []
    for line in axes.lines:
        for color in (line.get_color(), line.get_markerfacecolor(), line.get_markeredgecolor()):
            if not _safe_colour(color):
                found.append(
                    f"line {line.get_label()!r} is drawn in {_hex(color)}, outside the colour-blind-safe palette"
                )
                break
    for patch in axes.patches:
        if patch.get_visible() and not all(map(_safe_colour, (patch.get_facecolor(), patch.get_edgecolor()))):
            found.append(f"patch {patch.get_label()!r} is filled or edged outside the colour-blind-safe palette")
    for collection in axes.collections:
        if _is_colour_mapped(collection):
            found += _colormap_problems(collection)
        elif not all(_safe_colour(color) for color in _collection_colours(collection)):
            found.append(f"collection {collection.get_label()!r} uses colours outside the colour-blind-safe palette")
    for image in axes.images:
        found += _colormap_problems(image)
    return found


def _colormap_problems(mappable):
    cmap = mappable.get_cmap()
    name = cmap.name.removesuffix("_r")
    if name in UNIFORM_COLORMAPS | DIVERGING_COLORMAPS:
        return []
    if isinstance(cmap, ListedColormap) and all(map(_safe_colour, to_rgba_array(cmap.colors))):
        return []  # e.g. contour lines in one grey
    return [f"colour map {cmap.name!r} is not perceptually uniform (use viridis or cividis; coolwarm for signed data)"]


def _text_problems(figure):
    small = sorted(
        {
            (text.get_fontsize(), text.get_text())
            for text in figure.findobj(Text)
            if text.get_visible() and text.get_text().strip() and text.get_fontsize() < SMALLEST_FONT_PT
        }
    )
    return [f"text {text!r} is {size:g} pt, smaller than {SMALLEST_FONT_PT} pt" for size, text in small]


def _shows_data(axes):
    return axes.get_visible() and any(
        artist.get_visible() for artist in [*axes.lines, *axes.collections, *axes.patches, *axes.images]
    )


def _twin_of_titled_axes(axes):
    """A twinx/twiny axes drawn over a titled panel shares its title."""
    siblings = {*axes.get_shared_x_axes().get_siblings(axes), *axes.get_shared_y_axes().get_siblings(axes)}
    return any(
        other is not axes and other.get_title() and other.get_position().bounds == axes.get_position().bounds
        for other in siblings
    )


def _legend_labels(figure):
    legends = [*figure.legends, *(axes.get_legend() for axes in figure.axes)]
    return {text.get_text() for legend in legends if legend is not None for text in legend.get_texts()}


def _is_colour_mapped(mappable):
    return isinstance(mappable, (Collection, AxesImage)) and mappable.get_array() is not None


def _collection_colours(collection):
    return [*to_rgba_array(collection.get_facecolor()), *to_rgba_array(collection.get_edgecolor())]


def _safe_colour(color):
    """True for a palette colour, a grey (black and white included) or no colour at all."""
    rgba = to_rgba_array(color)
    if rgba.size == 0:
        return True
    return all(alpha == 0 or _grey_or_palette(rgb) for *rgb, alpha in rgba)


def _grey_or_palette(rgb):
    red, green, blue = rgb
    return (abs(red - green) < 0.01 and abs(green - blue) < 0.01) or tuple(round(c, 3) for c in rgb) in _PALETTE_RGB


def _hex(color):
    rgba = to_rgba_array(color)
    return "#" + "".join(f"{round(255 * channel):02x}" for channel in rgba[0][:3]) if rgba.size else "none"
