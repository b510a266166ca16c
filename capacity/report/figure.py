"""The figure kit of the charts: one style, one figure layout, one way to PNG and SVG bytes.

Drawn on matplotlib ``Figure`` objects with their own Agg canvas (no pyplot, no global state), the
default style, a fixed DPI, no software tag or date and a fixed SVG hash salt, so the same figure
gives the same bytes. Every chart has a title, units on its axes, its legend outside the data
and a footer naming the source (:func:`finish`). Used by :mod:`capacity.report.charts` (the
charts of a set of plans and valuations) and :mod:`capacity.report.command_charts` (the chart of
one backtest or stress report). matplotlib is imported inside the functions.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

CHART_DPI = 150
"""Resolution of the PNG charts. [dots per inch]"""

SVG_HASH_SALT = "capacity"
"""``svg.hashsalt``: fixed, so the ids inside an SVG (and so its bytes) do not change per run."""

_FOOTER_IN = 0.42
"""Height kept free at the bottom of a figure for the source footer. [inches]"""

_TITLE_IN = 0.36
"""Height kept free at the top for the title (a layout ``rect`` leaves the suptitle out of the
constrained layout's sums). [inches]"""


def style() -> dict[str, Any]:
    """matplotlib's default style (whatever the user's matplotlibrc says) plus a fixed SVG salt;
    backend keys left alone (figures draw on their own Agg canvas; touching the backend would
    import pyplot)."""
    import matplotlib

    default = matplotlib.rcParamsDefault
    rc = {k: default[k] for k in default if not k.startswith("backend") and k != "interactive"}
    rc["svg.hashsalt"] = SVG_HASH_SALT
    return rc


def new_figure(width_in: float, height_in: float):
    """A figure with a constrained layout that keeps the footer strip free."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = Figure(figsize=(width_in, height_in), dpi=CHART_DPI,
                 layout=ConstrainedLayoutEngine(rect=(  # left, bottom, width, height
                     0, _FOOTER_IN / height_in, 1, 1 - (_FOOTER_IN + _TITLE_IN) / height_in)))
    FigureCanvasAgg(fig)
    return fig


FOOTER_FONT_PT = 6.5
"""Size of the footer's text. [points]"""

_FOOTER_LINE_IN = FOOTER_FONT_PT * 1.25 / 72
"""Height of one footer line. [inches]"""


def footer_lines(footer: str, width_in: float) -> list[str]:
    """The footer wrapped to a figure ``width_in`` inches wide, every line of it (never cut)."""
    return textwrap.wrap(footer, width=max(60, int(width_in * 17)))


def finish(fig, title: str, footer: str) -> None:
    """Title on top, the whole source footer at the bottom left (wrapped to the figure's
    width): the figure grows by the lines the footer needs beyond :data:`_FOOTER_IN`, so the
    plot keeps its size and no line is cut. The title, axis labels and legend entries are
    written in the subject's currencies (:func:`capacity.results.money_text`)."""
    from capacity.results import money_text

    for ax in fig.axes:
        for label in (ax.xaxis.label, ax.yaxis.label):
            label.set_text(money_text(label.get_text()))
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        for text in legend.get_texts() if legend is not None else []:
            text.set_text(money_text(text.get_text()))
    title = money_text(title)
    lines = footer_lines(footer, fig.get_figwidth())
    footer_in = max(_FOOTER_IN, 0.08 + len(lines) * _FOOTER_LINE_IN)
    height_in = fig.get_figheight() + footer_in - _FOOTER_IN
    fig.set_figheight(height_in)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0, footer_in / height_in, 1, 1 - (footer_in + _TITLE_IN) / height_in))
    fig.suptitle(title, fontsize=11, y=1 - 0.06 / height_in, va="top")
    fig.text(0.005, 0.006, "\n".join(lines), fontsize=FOOTER_FONT_PT, color="#555555",
             ha="left", va="bottom", linespacing=1.2)


def render(fig, stem: str) -> dict[str, bytes]:
    """``<stem>.png`` at :data:`CHART_DPI` and ``<stem>.svg``, both without software or date
    tags (byte-identical for the same figure)."""
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=CHART_DPI, metadata={"Software": None})
    # the layout is settled by the first draw: the SVG reuses it instead of solving the
    # constrained layout again (half of a chart's drawing time)
    fig.set_layout_engine("none")
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return {f"{stem}.png": png.getvalue(), f"{stem}.svg": svg.getvalue()}


def legend_right(fig, handles, labels, ncol: int = 1) -> None:
    """A legend outside every axes, right of the data."""
    fig.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False, ncol=ncol)


def line2d(color: str, ls: str, marker: str, label: str, hollow: bool = False):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls or "none", marker=marker or None, label=label,
                  mfc="none" if hollow else color)



def panels(n_panels: int, panel_w: float = 4.2, panel_h: float = 3.2, extra_w: float = 2.2,
            sharey: bool = True, max_cols: int = 3):
    """A figure of ``n_panels`` small multiples (room on the right for the legend)."""
    cols = min(n_panels, max_cols)
    rows = -(-n_panels // cols)
    fig = new_figure(max(panel_w * cols + extra_w, 8.0), panel_h * rows + 1.1)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels], cols


def quarter_ticks(ax, labels: list[str], every: int = 2) -> None:
    ax.set_xticks(range(0, len(labels), every))
    ax.set_xticklabels(labels[::every], rotation=60, fontsize=7)


def chip_colors(chips: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(sorted(chips))}


def unique_legend(axes) -> tuple[list, list[str]]:
    handles, labs = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labs:
                handles.append(h)
                labs.append(lab)
    return handles, labs


def finish_panels(fig, axes, cols: int, ylabel: str, title: str, footer: str,
                  legend: bool = True) -> None:
    """Close a figure of small multiples (:func:`panels`): ``ylabel`` on the first panel of
    each row, one legend of every panel's entries right of the data (unless ``legend`` is
    False), then the title and footer (:func:`finish`)."""
    for ax in axes[::cols]:
        ax.set_ylabel(ylabel, fontsize=8)
    if legend:
        legend_right(fig, *unique_legend(axes))
    finish(fig, title, footer)
