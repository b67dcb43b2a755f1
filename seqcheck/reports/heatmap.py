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


#: Right and wrong cells of the PNG: blue and orange of the Okabe-Ito palette, told apart with any common
#: colour blindness (red and green are not, by one reader in twelve).
RIGHT_COLOUR, WRONG_COLOUR = "#0072B2", "#E69F00"


def heatmap_figure(correct_by_length: dict[int, tuple[bool, ...]], *, title: str = "", train_length: int | None = None):
    """The matplotlib figure of right/wrong windows by length (x) and phase (y), the training length marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    lengths = sorted(correct_by_length)
    phases = len(correct_by_length[lengths[0]])
    grid = np.array([[1.0 if correct_by_length[n][ph] else 0.0 for n in lengths] for ph in range(phases)])
    fig, ax = plt.subplots(figsize=(max(8.0, len(lengths) * 0.12), 1.8 + 0.35 * phases), dpi=100)
    ax.imshow(grid, aspect="auto", cmap=ListedColormap([WRONG_COLOUR, RIGHT_COLOUR]), vmin=0, vmax=1,
              extent=(lengths[0] - 0.5, lengths[-1] + 0.5, phases - 0.5, -0.5), interpolation="nearest")
    handles = [Patch(color=RIGHT_COLOUR, label="right"), Patch(color=WRONG_COLOUR, label="wrong")]
    if train_length is not None and lengths[0] <= train_length <= lengths[-1]:
        handles.append(ax.axvline(train_length, color="black", linestyle="--", linewidth=1.5,
                                  label=f"training length {train_length}"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_xlabel("window length")
    ax.set_ylabel("phase")
    ax.set_yticks(range(phases))
    ax.set_title(title or "right and wrong windows by length and phase", fontsize=10)
    fig.tight_layout()
    return fig


def require_matplotlib(path: str) -> None:
    """A one-line error naming ``--plot=path`` unless matplotlib can be imported (it is an optional extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise invalid("--plot", path, "matplotlib installed", "pip install 'seqcheck[plot]'") from None


def plot_heatmap(correct_by_length: dict[int, tuple[bool, ...]], path: str | Path, *, title: str = "",
                 train_length: int | None = None) -> Path:
    """Write the PNG of :func:`heatmap_figure`; needs matplotlib (``pip install 'seqcheck[plot]'``)."""
    require_matplotlib(str(path))
    import matplotlib.pyplot as plt

    fig = heatmap_figure(correct_by_length, title=title, train_length=train_length)
    target = Path(path)
    fig.savefig(target, format="png")
    plt.close(fig)
    return target
