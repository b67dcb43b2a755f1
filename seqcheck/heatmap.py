"""Accuracy by length x phase, drawn: as text for the terminal, and as a PNG (matplotlib, optional).

Rows are phases, columns lengths; a cell is right when ``window(phase, length)`` predicts its
target.  A start-anchored model shows diagonal stripes that repeat every period; a model that
breaks beyond some length shows a wall.
"""

from __future__ import annotations

from pathlib import Path

from seqcheck.errors import invalid

RIGHT, WRONG = ".", "x"
COLUMNS = 60  # lengths per block of the text heatmap


def text_heatmap(correct_by_length: dict[int, tuple[bool, ...]], *, indent: str = "") -> list[str]:
    """Lines of the text heatmap: rows are phases, columns lengths (60 a block), ``x`` = wrong."""
    lengths = sorted(correct_by_length)
    if not lengths:
        return []
    period = len(correct_by_length[lengths[0]])
    lines = [f"{indent}heatmap: {WRONG} = wrong, {RIGHT} = right; rows phases, columns lengths ('|' at multiples of 10)"]
    for start in range(0, len(lengths), COLUMNS):
        block = lengths[start : start + COLUMNS]
        ruler = "".join("|" if length % 10 == 0 else " " for length in block)
        lines.append(f"{indent}{f'{block[0]}..{block[-1]}':>10} {ruler}")
        for phase in range(period):
            row = "".join(RIGHT if correct_by_length[length][phase] else WRONG for length in block)
            lines.append(f"{indent}{f'phase {phase}':>10} {row}")
    return lines


def plot_heatmap(correct_by_length: dict[int, tuple[bool, ...]], path: str | Path, *, title: str = "") -> Path:
    """Write a PNG heatmap of right/wrong windows; needs matplotlib (``pip install 'seqcheck[plot]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
    except ImportError:
        raise invalid("--plot", str(path), "matplotlib installed", "pip install 'seqcheck[plot]'") from None
    import numpy as np

    lengths = sorted(correct_by_length)
    grid = np.array([[1.0 if correct_by_length[n][ph] else 0.0 for n in lengths] for ph in range(len(correct_by_length[lengths[0]]))])
    fig, ax = plt.subplots(figsize=(max(8.0, len(lengths) * 0.12), 1.4 + 0.35 * grid.shape[0]), dpi=100)
    ax.imshow(grid, aspect="auto", cmap=ListedColormap(["#d62728", "#2ca02c"]), vmin=0, vmax=1,
              extent=(lengths[0] - 0.5, lengths[-1] + 0.5, grid.shape[0] - 0.5, -0.5), interpolation="nearest")
    ax.set_xlabel("window length")
    ax.set_ylabel("phase")
    ax.set_yticks(range(grid.shape[0]))
    ax.set_title(title or "right (green) / wrong (red) by length and phase", fontsize=10)
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, format="png")
    plt.close(fig)
    return target
