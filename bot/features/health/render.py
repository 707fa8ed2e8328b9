"""The picture, drawn with matplotlib's object API on the Agg canvas: no pyplot and no global
state, so drawing in a worker thread is safe."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.features.health.series import Series

_BAR = "#5b8db8"
_SMALL = "#c9d6e3"


def render_png(title: str, weeks: list[str], series: list[tuple[str, Series]],
               fewer_than: str) -> bytes:
    """One panel per series, weeks along the bottom; a week held back for privacy shows a
    pale bar marked with the words, so no small number can be read off the picture."""
    fig = Figure(figsize=(8, 1.2 + 1.9 * max(len(series), 1)), dpi=100,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(series), 1), 1, sharex=True, squeeze=False)[:, 0]
    x = list(range(len(weeks)))
    labels = weeks  # each week's first day, as the reader writes it
    for ax, (label, s) in zip(axes, series, strict=False):
        values = [v or 0.0 for v in s.values]
        if s.kind == "count":
            ax.bar(x, values, color=_BAR, width=0.8)
            small = s.small or [False] * len(x)
            top = max(values, default=0.0) or 1.0
            for i, is_small in enumerate(small):
                if is_small:
                    ax.bar([i], [top * 0.15], color=_SMALL, width=0.8)
                    ax.text(i, top * 0.17, fewer_than, ha="center", va="bottom", fontsize=6,
                            rotation=90, color="#555555")
        else:
            shown = [(i, v) for i, v in enumerate(s.values) if v is not None]
            if shown:
                ax.plot([i for i, _ in shown], [v for _, v in shown], marker="o",
                        color=_BAR)
        ax.set_title(label, fontsize=9, loc="left")
        if s.kind == "seconds":
            ax.set_ylabel("s", fontsize=8)
        elif s.kind == "score":
            ax.set_ylim(0, 105)  # a score is read against its whole range
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
    step = max(1, len(x) // 13)
    axes[-1].set_xticks(x[::step], labels[::step], rotation=45, ha="right")
    fig.suptitle(title, fontsize=11)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
