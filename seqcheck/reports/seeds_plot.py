"""A recipe across seeds, drawn: pass or fail by seed x length, as a PNG (matplotlib, optional).

What the plot shows.  One row per seed, one column per input length, from each seed's
``length_generalization`` accuracy by length.  A cell is **right** (blue) when that seed's model has
accuracy 1 at that length, i.e. every window of that length, every phase (on a sequence task: every
input of the length the check judged), predicted correctly; it is **wrong** (orange) when the accuracy
is below 1, however little.  A cell without data (a length the seed's check did not report) is light
grey; a seed that ended in error (training or the check raised, or its worker died) is a hatched grey
row labelled ``error``.  The dashed vertical line falls just after the training length N: columns to
its left are lengths 1..N the model was trained on.  A model that learned the rule is blue across its
whole row; one that learned the training lengths turns orange right of the line.

A comparison (:func:`seqcheck.training.comparison.compare_recipes`) is one panel per recipe, side by side,
on the same seeds and the same length axis, each titled with the recipe and ``holds on k of n`` (the
report's count of finished seeds whose model holds *every* invariant checked, not only length
generalization: a blue row can still be a seed that fails another invariant).

The plot is drawn from the dict form (``SeedsReport.to_dict()``, ``RecipeComparison.to_dict()``), so that a
report read back from ``--json`` draws the same plot; :func:`row_accuracy` is the one place that reads a
seed's accuracy out of it, :func:`seed_grid` the matrix the figure draws.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from seqcheck.errors import invalid
from seqcheck.reports.heatmap import RIGHT_COLOUR, WRONG_COLOUR, require_matplotlib
from seqcheck.spelling import spell

__all__ = ["SeedGrid", "row_accuracy", "seed_grid", "seeds_figure", "plot_seeds"]

#: The invariant whose accuracy by length the plot shows.
INVARIANT = "length_generalization"
#: Cells without data, and the rows of seeds that ended in error.
NO_DATA_COLOUR, ERROR_COLOUR = "#DDDDDD", "#999999"
_ERROR = "error"


def _row_dict(row: Any) -> Mapping[str, Any]:
    """A row as its dict (``SeedResult.to_dict()``), whether given as a :class:`SeedResult` or already a dict."""
    return row.to_dict() if hasattr(row, "to_dict") else row


def _length_generalization(report: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ``length_generalization`` result of a check's report dict, or ``None`` when it was not checked."""
    for result in (report or {}).get("invariants") or ():
        if result.get("name") == INVARIANT:
            return result
    return None


def row_accuracy(row: Any) -> dict[int, float] | None:
    """One seed's accuracy by length, ``{length: accuracy}`` sorted by length (int keys, whatever JSON made of them).

    ``row`` is a :class:`~seqcheck.training.seeds.SeedResult` or its dict (a ``rows`` entry of
    ``SeedsReport.to_dict()``, also as read back from JSON).  Read from
    ``row["report"]["invariants"][i]["accuracy_by_length"]`` where ``[i]["name"] == "length_generalization"``.
    ``None`` when the seed has none: it ended in error (no report), length generalization was not checked,
    or it reported no accuracy (lengths beyond the exhaustive budget).
    """
    result = _length_generalization(_row_dict(row).get("report"))
    accuracy = None if result is None else result.get("accuracy_by_length")
    if accuracy is None:
        return None
    return {int(length): float(value) for length, value in sorted(accuracy.items(), key=lambda item: int(item[0]))}


@dataclass(frozen=True)
class SeedGrid:
    """The matrix the figure draws for one report: ``cells[i][j]`` is seed ``seeds[i]`` at length ``lengths[j]``:
    ``True`` (accuracy 1: every window of the length right), ``False`` (some window wrong) or ``None`` (no data).
    ``errors[i]``: seed ``seeds[i]`` ended in error (its row is all ``None``)."""

    seeds: tuple[int, ...]
    lengths: tuple[int, ...]
    cells: tuple[tuple[bool | None, ...], ...]
    errors: tuple[bool, ...]


def _rows(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = report.get("rows") if isinstance(report, Mapping) else None
    if not isinstance(rows, list):
        raise invalid("report", type(report).__name__, "a SeedsReport's dict (SeedsReport.to_dict(), with its rows)",
                      "pass check_seeds' result, or its --json read back with json.load")
    return [_row_dict(row) for row in rows]


def seed_grid(report: Mapping[str, Any], *, lengths: Sequence[int] | None = None,
              seeds: Sequence[int] | None = None) -> SeedGrid:
    """The seed x length matrix of one ``SeedsReport.to_dict()`` (rows in seed order).

    ``lengths`` defaults to every length some seed reports, sorted; ``seeds`` to the report's seeds.  Pass
    both to put several reports on the same axes: a seed the report lacks is a row of ``None``.
    """
    rows = {int(row["seed"]): row for row in _rows(report)}
    accuracy = {seed: row_accuracy(row) for seed, row in rows.items()}
    if lengths is None:
        lengths = sorted({length for table in accuracy.values() if table for length in table})
    order = sorted(rows) if seeds is None else [int(seed) for seed in seeds]
    cells, errors = [], []
    for seed in order:
        table = accuracy.get(seed) or {}
        cells.append(tuple(None if length not in table else table[length] == 1.0 for length in lengths))
        errors.append(seed in rows and rows[seed].get("outcome") == _ERROR)
    return SeedGrid(tuple(order), tuple(int(n) for n in lengths), tuple(cells), tuple(errors))


def _panels(report_or_reports: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """``(label, SeedsReport dict)`` for each panel of what :func:`plot_seeds` accepts."""
    item = report_or_reports
    if hasattr(item, "reports") and not isinstance(item, Mapping):  # a RecipeComparison
        return [panel for report in item.reports for panel in _panels(report)]
    if hasattr(item, "rows") and hasattr(item, "to_dict"):  # a SeedsReport
        return [(str(item.recipe), item.to_dict())]
    if isinstance(item, Mapping):
        if isinstance(item.get("recipes"), list):  # RecipeComparison.to_dict()
            return [panel for report in item["recipes"] for panel in _panels(report)]
        _rows(item)
        return [(str(item.get("recipe", "")), item)]
    if isinstance(item, (list, tuple)) and item:
        return [panel for report in item for panel in _panels(report)]
    raise invalid("report", type(item).__name__, "a SeedsReport, a RecipeComparison, or the dict of either's to_dict()",
                  "pass check_seeds' or compare_recipes' result, or its --json read back with json.load")


def _require_accuracy(panels: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """One-line errors for reports with nothing to draw: no length generalization, or no accuracy by length."""
    rows = [row for _, report in panels for row in _rows(report)]
    if any(row_accuracy(row) for row in rows):
        return
    reports = [row.get("report") for row in rows if row.get("report")]
    if not reports:
        raise invalid("seeds", len(rows), "a seed that finished, since the seeds plot shows finished seeds' accuracy by"
                      " length (every seed ended in error)", "fix the errors each seed's line reports, then run the seeds again")
    checked = sorted({result.get("name") for report in reports for result in report.get("invariants") or ()} - {None})
    if INVARIANT not in checked:
        raise invalid("invariants", ",".join(checked), f"{INVARIANT} among the invariants checked, since the seeds plot"
                      " shows its accuracy by length", f"check the seeds again with {INVARIANT} among the invariants")
    longest = next((report.get("max_length") for _, report in panels if report.get("max_length") is not None), None)
    raise invalid("max_length", longest, f"{INVARIANT}'s accuracy by length in some seed's report, since the seeds plot"
                  " shows it (lengths whose sweep exceeds the exhaustive budget have none)",
                  f"check the seeds again with a lower {spell('max_length').rstrip('=')}")


def _holds(report: Mapping[str, Any]) -> str:
    rows = _rows(report)
    holds = report.get("holds", sum(row.get("outcome") == "pass" for row in rows))
    n = report.get("n", sum(row.get("outcome") in ("pass", "fail") for row in rows))
    errors = report.get("errors", sum(row.get("outcome") == _ERROR for row in rows))
    return f"holds on {holds} of {n}" + (f", {errors} in error" if errors else "")


def _ticks(count: int, most: int) -> list[int]:
    """Indices of at most about ``most`` evenly spaced ticks among ``count`` positions."""
    step = max(1, -(-count // most))
    return list(range(0, count, step))


def seeds_figure(panels: Sequence[tuple[str, Mapping[str, Any]]], *, title: str = ""):
    """The matplotlib figure: one panel per ``(label, SeedsReport.to_dict())`` pair, side by side, rows seeds, columns
    lengths (shared by every panel), cells right/wrong/no data, error rows hatched, the training length marked."""
    panels = list(panels)
    if not panels:
        raise invalid("panels", [], "at least one (label, SeedsReport dict) pair", "pass e.g. [(report.recipe, report.to_dict())]")
    _require_accuracy(panels)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    lengths = sorted({n for _, report in panels for row in _rows(report) for n in (row_accuracy(row) or {})})
    seeds = sorted({int(row["seed"]) for _, report in panels for row in _rows(report)})
    grids = [seed_grid(report, lengths=lengths, seeds=seeds) for _, report in panels]
    train_lengths = {report.get("train_length") for _, report in panels} - {None}
    train_length = train_lengths.pop() if len(train_lengths) == 1 else None

    width = min(max(4.0, 0.12 * len(lengths)), 14.0)
    height = 1.6 + min(0.28 * len(seeds), 14.0)
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels) + 1.8, height), dpi=100, sharey=True, squeeze=False)
    cmap = ListedColormap([WRONG_COLOUR, RIGHT_COLOUR]).with_extremes(bad=NO_DATA_COLOUR)
    # The line falls between N and the next length: the columns to its left are the lengths trained on.
    line_at = None
    if train_length is not None and lengths and lengths[0] <= train_length <= lengths[-1]:
        line_at = bisect.bisect_right(lengths, train_length) - 0.5
    for ax, (label, report), grid in zip(axes[0], panels, grids):
        values = np.array([[np.nan if cell is None else float(cell) for cell in row] for row in grid.cells], dtype=float)
        ax.imshow(np.ma.masked_invalid(values.reshape(len(seeds), len(lengths))), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                  interpolation="nearest", extent=(-0.5, len(lengths) - 0.5, len(seeds) - 0.5, -0.5))
        for i, error in enumerate(grid.errors):
            if error:
                ax.add_patch(Rectangle((-0.5, i - 0.5), len(lengths), 1, facecolor=ERROR_COLOUR, edgecolor="white",
                                       hatch="//", linewidth=0))
                ax.text(-0.3, i, _ERROR, ha="left", va="center", fontsize=8, color="black",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
        if 1 < len(seeds) <= 60:  # a thin white line between seeds, so that rows of one colour stay countable
            ax.hlines(np.arange(0.5, len(seeds) - 0.5), -0.5, len(lengths) - 0.5, colors="white", linewidth=0.6)
        if line_at is not None:
            ax.axvline(line_at, color="black", linestyle="--", linewidth=1.5)
        ticks = _ticks(len(lengths), 16)
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(lengths[j]) for j in ticks], fontsize=8)
        ax.set_xlabel("input length")
        ax.set_title(f"{label}\n{_holds(report)}" if label else _holds(report), fontsize=9)
    rows = _ticks(len(seeds), 40)
    axes[0][0].set_yticks(rows)
    axes[0][0].set_yticklabels([str(seeds[i]) for i in rows], fontsize=8)
    axes[0][0].set_ylabel("seed")
    handles = [Patch(color=RIGHT_COLOUR, label="right: accuracy 1"), Patch(color=WRONG_COLOUR, label="wrong: accuracy < 1"),
               Patch(color=NO_DATA_COLOUR, label="no data")]
    if any(any(grid.errors) for grid in grids):
        handles.append(Patch(facecolor=ERROR_COLOUR, hatch="//", edgecolor="white", label="seed ended in error"))
    if line_at is not None:
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1.5, label=f"training length {train_length}"))
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title or "length generalization by seed: every window of a length right?", fontsize=10)
    fig.tight_layout()
    return fig


def plot_seeds(report_or_reports: Any, path: str | os.PathLike[str] | IO[bytes]) -> Path | IO[bytes]:
    """Write the PNG of :func:`seeds_figure` and return ``path``.

    ``report_or_reports``: a :class:`~seqcheck.training.seeds.SeedsReport` (one panel), a
    :class:`~seqcheck.training.comparison.RecipeComparison` (one panel per recipe), the dict of either's
    ``to_dict()`` (as read back from ``--json``), or a list of reports.  ``path``: a file, written atomically
    (``-`` or the file standard output goes to: standard output; a FIFO or device: written through), or a binary
    stream, written to and returned as is.  Needs matplotlib (``pip install 'seqcheck[plot]'``).
    """
    from seqcheck.files import replace_atomically

    panels = _panels(report_or_reports)
    _require_accuracy(panels)
    stream = hasattr(path, "write")
    require_matplotlib("stream" if stream else os.fspath(path))
    import matplotlib.pyplot as plt

    fig = seeds_figure(panels)
    try:
        if stream:
            fig.savefig(path, format="png")
            return path
        replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png"))
        return Path(path)
    finally:
        plt.close(fig)
