"""Pictures for /leadstats chart: PNGs drawn with matplotlib (no screen needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # draw to memory; servers have no display

from matplotlib import pyplot  # noqa: E402  (the backend must be chosen first)


def first_touch_chart(buckets: list[tuple[str, int]], title: str) -> bytes:
    """A bar chart of how long first touches took; the PNG's bytes."""
    figure, axes = pyplot.subplots(figsize=(7, 3.5), dpi=110)
    try:
        labels, counts = zip(*buckets, strict=True) if buckets else ((), ())
        colours = ["#2a9d8f" if i < 2 else "#e9c46a" if i < 4 else "#e76f51" for i in range(len(labels))]
        axes.bar(labels, counts, color=colours)
        axes.set_title(title)
        axes.set_ylabel("leads")
        axes.set_xlabel("time to first touch")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        pyplot.close(figure)
