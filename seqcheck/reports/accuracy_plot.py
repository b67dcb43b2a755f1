"""Accuracy by length of a sequence task, drawn as a line plot (matplotlib, optional).

Accuracy against length, the training range ``1..N`` shaded: a model that learned the rule stays at
1.0 beyond the shading; one that learned the training lengths falls off where the shading ends.
"""

from __future__ import annotations

from pathlib import Path

from seqcheck.reports.heatmap import RIGHT_COLOUR, WRONG_COLOUR


def accuracy_figure(accuracy_by_length: dict[int, float], *, title: str = "", train_length: int | None = None):
    """The matplotlib figure of accuracy (y, 0..1) by length (x), the training range 1..``train_length`` shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = sorted(accuracy_by_length)
    fig, ax = plt.subplots(figsize=(8.0, 3.2), dpi=100)
    if train_length is not None:
        ax.axvspan(0.5, train_length + 0.5, color=WRONG_COLOUR, alpha=0.2, linewidth=0, label=f"training lengths 1..{train_length}")
    ax.plot(lengths, [accuracy_by_length[n] for n in lengths], color=RIGHT_COLOUR, linewidth=1.5, marker="." if len(lengths) <= 60 else None,
            label="accuracy")
    ax.set_xlim(min(lengths[0], 1) - 0.5, lengths[-1] + 0.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("input length")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(title or "accuracy by length", fontsize=10)
    fig.tight_layout()
    return fig


def plot_accuracy(accuracy_by_length: dict[int, float], path: str | Path, *, title: str = "", train_length: int | None = None) -> Path:
    """Write the PNG of :func:`accuracy_figure` (matplotlib must be installed: ``pip install 'seqcheck[plot]'``)."""
    import matplotlib.pyplot as plt

    fig = accuracy_figure(accuracy_by_length, title=title, train_length=train_length)
    target = Path(path)
    fig.savefig(target, format="png")
    plt.close(fig)
    return target
