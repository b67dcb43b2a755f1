"""The seeds plot (seqcheck.reports.seeds_plot): pass or fail by seed x length, from SeedsReports built by hand.

No training and no worker processes: each seed's report is the minimal dict the plot reads (its invariants, one of them
``length_generalization`` with ``accuracy_by_length`` keyed by strings, as ``Report.to_dict()`` writes it).  Of
seeds 0..3, with training length 4 and lengths 2..7: seed 0 is right everywhere, seed 1 wrong from length 5 (beyond
N), seed 2 ended in error, seed 3 wrong at length 2 only and has no data at length 7.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from seqcheck.errors import InvalidArgument
from seqcheck.reports.seeds_plot import plot_seeds, row_accuracy, seed_grid, seeds_figure
from seqcheck.training.comparison import RecipeComparison
from seqcheck.training.seeds import ERROR, FAIL, PASS, SeedResult, SeedsReport

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ACCURACY = {
    0: {2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0, 7: 1.0},
    1: {2: 1.0, 3: 1.0, 4: 1.0, 5: 0.8, 6: 0.4, 7: 0.0},
    3: {2: 0.5, 3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0},
}


def check_report(accuracy: dict[int, float] | None, *, with_length_generalization: bool = True) -> dict:
    """The part of ``Report.to_dict()`` the plot reads: the invariants, keyed by name, lengths as strings."""
    invariants = [{"name": "shift_invariance", "status": PASS, "accuracy_by_length": None}]
    if with_length_generalization:
        table = None if accuracy is None else {str(length): value for length, value in accuracy.items()}
        invariants.insert(0, {"name": "length_generalization", "status": PASS, "accuracy_by_length": table})
    return {"version": 3, "train_length": 4, "invariants": invariants}


def seed_row(seed: int, accuracy: dict[int, float] | None, **options) -> SeedResult:
    outcome = PASS if all(value == 1.0 for value in (accuracy or {}).values()) else FAIL
    return SeedResult(seed, outcome, report=check_report(accuracy, **options))


def error_row(seed: int) -> SeedResult:
    return SeedResult(seed, ERROR, error="training raised RuntimeError: loss diverged")


def seeds_report(recipe: str = "fixed-window", rows: list[SeedResult] | None = None) -> SeedsReport:
    if rows is None:
        rows = [seed_row(0, ACCURACY[0]), seed_row(1, ACCURACY[1]), error_row(2), seed_row(3, ACCURACY[3])]
    return SeedsReport(recipe=recipe, pattern="11000", train_length=4, first_seed=0, seeds=len(rows), rows=rows)


def round_trip(data):
    return json.loads(json.dumps(data))


def assert_png(path_or_bytes, *, panels: int = 1) -> None:
    import matplotlib.image

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    assert data[:8] == PNG_MAGIC
    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    height, width = image.shape[:2]
    assert image.ndim == 3 and 150 <= height <= 2000
    assert width > height * (1.2 if panels == 1 else 2.0)  # panels side by side: wider still


# -- the data ------------------------------------------------------------------------------------


def test_row_accuracy_reads_int_lengths_from_the_object_and_from_json():
    report = seeds_report()
    for rows in (report.rows, report.to_dict()["rows"], round_trip(report.to_dict())["rows"]):
        found = {row.seed if isinstance(row, SeedResult) else row["seed"]: row_accuracy(row) for row in rows}
        assert found == {0: ACCURACY[0], 1: ACCURACY[1], 2: None, 3: ACCURACY[3]}
        assert all(type(length) is int for table in found.values() if table for length in table)
        assert list(found[1]) == [2, 3, 4, 5, 6, 7]  # sorted by length as a number


def test_row_accuracy_sorts_lengths_numerically_not_as_strings():
    row = round_trip(seed_row(0, {9: 1.0, 10: 0.5, 2: 1.0}).to_dict())
    assert list(row_accuracy(row).items()) == [(2, 1.0), (9, 1.0), (10, 0.5)]


def test_row_accuracy_is_none_without_length_generalization_or_its_accuracy():
    assert row_accuracy(seed_row(0, ACCURACY[0], with_length_generalization=False)) is None
    assert row_accuracy(seed_row(0, None)) is None
    assert row_accuracy(error_row(2).to_dict()) is None


def test_the_grid_is_right_only_at_accuracy_1_and_none_without_data():
    for data in (seeds_report().to_dict(), round_trip(seeds_report().to_dict())):
        grid = seed_grid(data)
        assert grid.seeds == (0, 1, 2, 3)
        assert grid.lengths == (2, 3, 4, 5, 6, 7)
        assert grid.cells == (
            (True, True, True, True, True, True),
            (True, True, True, False, False, False),
            (None, None, None, None, None, None),
            (False, True, True, True, True, None),
        )
        assert grid.errors == (False, False, True, False)


def test_the_grid_on_given_axes_leaves_missing_seeds_and_lengths_empty():
    grid = seed_grid(seeds_report().to_dict(), lengths=[4, 5, 8], seeds=[1, 5])
    assert grid.cells == ((True, False, None), (None, None, None))
    assert grid.errors == (False, False)


def test_accuracy_just_below_1_is_wrong():
    report = seeds_report(rows=[seed_row(0, {3: 0.9999, 4: 1.0})])
    assert seed_grid(round_trip(report.to_dict())).cells == ((False, True),)


# -- the PNG -------------------------------------------------------------------------------------


def test_one_report_object_or_its_json_writes_a_png(tmp_path):
    report = seeds_report()
    written = plot_seeds(report, tmp_path / "seeds.png")
    assert written == tmp_path / "seeds.png"
    assert_png(written)
    again = plot_seeds(round_trip(report.to_dict()), str(tmp_path / "from-json.png"))
    assert_png(again)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["from-json.png", "seeds.png"]  # no temporary left behind


def test_a_binary_stream_receives_the_png():
    stream = io.BytesIO()
    assert plot_seeds(seeds_report(), stream) is stream
    assert_png(stream.getvalue())


def test_dash_writes_the_png_to_standard_output(capsysbinary):
    assert str(plot_seeds(seeds_report(), "-")) == "-"
    assert_png(capsysbinary.readouterr().out)


def test_error_rows_are_drawn_and_labelled(tmp_path):
    fig = seeds_figure([("fixed-window", seeds_report().to_dict())])
    try:
        (ax,) = fig.axes
        assert [t.get_text() for t in ax.texts] == ["error"]
        assert ax.texts[0].get_position()[1] == 2  # the row of seed 2
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2", "3"]
        assert "holds on 1 of 3, 1 in error" in ax.get_title()
        assert "training length 4" in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_a_comparison_is_one_panel_per_recipe_on_shared_axes(tmp_path):
    first = seeds_report("fixed-window")
    second = seeds_report("fixed-window:dropout=0.15", rows=[seed_row(0, ACCURACY[0]), seed_row(1, ACCURACY[0]),
                                                              seed_row(2, ACCURACY[1]), seed_row(3, ACCURACY[0])])
    comparison = RecipeComparison([first, second])
    for given in (comparison, round_trip(comparison.to_dict())):
        path = plot_seeds(given, tmp_path / "compare.png")
        assert_png(path, panels=2)
    fig = seeds_figure([(r.recipe, r.to_dict()) for r in comparison.reports], title="two recipes")
    try:
        left, right = fig.axes[:2]
        assert len(fig.axes) == 2
        assert left.get_title() == "fixed-window\nholds on 1 of 3, 1 in error"
        assert right.get_title() == "fixed-window:dropout=0.15\nholds on 3 of 4"
        assert left.get_xlim() == right.get_xlim() and left.get_ylim() == right.get_ylim()
        assert [t.get_text() for t in right.texts] == []  # no error row on the right
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


# -- refusals ------------------------------------------------------------------------------------


def one_line(caught) -> str:
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_report_without_length_generalization_is_a_one_line_error(tmp_path):
    report = seeds_report(rows=[seed_row(s, ACCURACY[0], with_length_generalization=False) for s in range(3)])
    for given in (report, round_trip(report.to_dict())):
        with pytest.raises(InvalidArgument) as caught:
            plot_seeds(given, tmp_path / "never.png")
        message = one_line(caught)
        assert message.startswith("invariants='shift_invariance': expected length_generalization among the invariants")
        assert "with length_generalization among the invariants" in message
    assert list(tmp_path.iterdir()) == []


def test_a_report_without_accuracy_by_length_says_so(tmp_path):
    report = seeds_report(rows=[seed_row(0, None), error_row(1)])
    with pytest.raises(InvalidArgument, match="length_generalization's accuracy by length") as caught:
        plot_seeds(report, tmp_path / "never.png")
    assert "lower max_length" in one_line(caught)


def test_every_seed_in_error_is_a_one_line_error(tmp_path):
    with pytest.raises(InvalidArgument, match="every seed ended in error") as caught:
        plot_seeds(seeds_report(rows=[error_row(0), error_row(1)]), tmp_path / "never.png")
    one_line(caught)


def test_something_else_than_a_report_is_a_one_line_error(tmp_path):
    with pytest.raises(InvalidArgument, match="a SeedsReport, a RecipeComparison") as caught:
        plot_seeds(42, tmp_path / "never.png")
    one_line(caught)


# -- imports -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_importing_the_module_imports_no_matplotlib():
    code = "import sys, seqcheck.reports.seeds_plot; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
