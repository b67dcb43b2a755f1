"""``seqcheck check-recipe RECIPE --pattern P --seeds N``: the per-seed report, the JSON, and the CI gate's three exit
codes (0 pass, 1 fail, 4 undecided: more seeds needed), on stub recipes that need no training."""

from __future__ import annotations

import json

import pytest

from seqcheck.integrations.cli import EXIT_UNDECIDED, main
from test_seeds import ANCHORED_LINE, write_stubs


@pytest.fixture
def stubs(tmp_path, monkeypatch):
    name = write_stubs(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SEQCHECK_CACHE_DIR", str(tmp_path / "cache"))  # seeds' results are cached: each test its own
    return name


def check_seeds_cli(stubs: str, recipe: str, *options: str) -> list[str]:
    return ["check-recipe", f"{stubs}:{recipe}", "--pattern", "11000", "--workers", "0", *options]


@pytest.mark.parametrize(
    ("recipe", "seeds", "rate", "code", "said"),
    [
        # 8 of 8 hold: the failure rate's interval is 0%..32.4%, below 40%
        ("exact", "8", "0.4", 0, "gate: pass: failure rate 0/8 = 0.0%, 95% interval 0.0%–32.4% (Wilson), below 40%"),
        # 6 of 9 fail (the seeds not divisible by 3): 35.4%..87.9%, above 30%
        ("by_seed", "9", "0.3", 1, "gate: fail: failure rate 6/9 = 66.7%, 95% interval 35.4%–87.9% (Wilson), above 30%"),
        # 4 of 6 fail: 30.0%..90.3% straddles 50%
        ("by_seed", "6", "0.5", EXIT_UNDECIDED,
         "gate: undecided: failure rate 4/6 = 66.7%, 95% interval 30.0%–90.3% (Wilson), straddles 50%; about 29 more seeds"
         " needed if the rate holds"),
    ],
)
def test_the_gate_reaches_each_outcome_with_its_exit_code(stubs, recipe, seeds, rate, code, said, capsys):
    assert main(check_seeds_cli(stubs, recipe, "--seeds", seeds, "--max-failure-rate", rate, "--max-length", "12")) == code
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [said, (
        f"reproduce: seqcheck check-recipe {stubs}:{recipe} --pattern 11000 --seeds {seeds} --max-length 12"
        f" --max-failure-rate {rate}"
    )]


def test_without_a_gate_any_failing_seed_fails_and_the_json_holds_every_seed(stubs, tmp_path, capsys):
    report_path = tmp_path / "seeds.json"
    assert main(check_seeds_cli(stubs, "by_seed", "--seeds", "3", "--max-length", "12", "--json", str(report_path))) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:4] == ["seed 0  pass", f"seed 1  {ANCHORED_LINE}", f"seed 2  {ANCHORED_LINE}"]  # found by length 12
    report = json.loads(report_path.read_text())
    assert (report["holds"], report["failures"], report["n"], report["gate"]) == (1, 2, 3, None)
    assert [row["seed"] for row in report["rows"]] == [0, 1, 2]
    assert main(check_seeds_cli(stubs, "exact", "--seeds", "2", "--max-length", "12")) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check-recipe", "fixed-window", "--pattern", "11000"],
         "seqcheck: error: --pattern=11000: expected --seeds N beside it; check a recipe across seeds with --pattern P --seeds N"),
        (["check-recipe", "fixed-window", "--seeds", "3"],
         "seqcheck: error: --seeds=3: expected --pattern P or --task T beside it; check a recipe across seeds with --pattern P"
             " --seeds N, or --task T --seeds N"),
        (["check-recipe", "fixed-window", "--max-failure-rate", "0.1"],
         "seqcheck: error: --max-failure-rate=0.1: expected --seeds N beside it; add --pattern P --seeds N to check the recipe"
         " across seeds"),
        (["check-recipe", "fixed-window", "--pattern", "11000", "--seeds", "3", "--max-failure-rate", "1"],
         "seqcheck check-recipe: error: argument --max-failure-rate: --max-failure-rate='1': expected a rate strictly between 0"
         " and 1, like 0.1"),
    ],
)
def test_options_of_the_seeds_mode_need_each_other(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err.strip().removesuffix(" (see 'seqcheck check-recipe --help')") == message


def test_compare_recipes_tests_each_variant_against_the_first_on_the_same_seeds(stubs, tmp_path, capsys):
    report_path = tmp_path / "compare.json"
    argv = ["compare-recipes", f"{stubs}:by_seed", f"{stubs}:by_seed:every=2", f"{stubs}:exact", "--pattern", "11000",
            "--seeds", "6", "--workers", "0", "--max-length", "12", "--json", str(report_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2:5] == [
        f"{stubs}:by_seed          2/6     33.3%   9.7%..70.0%            0       -",
        f"{stubs}:by_seed:every=2  3/6     50.0%   18.8%..81.2%           0       1",
        f"{stubs}:exact            6/6     100.0%  61.0%..100.0%          0       0.061",
    ]
    # seeds 0 and 3 hold with every=3, seeds 0, 2 and 4 with every=2: no difference 6 seeds can show
    assert out[5] == (
        f"{stubs}:by_seed:every=2 holds on 3/6 seeds against 2/6 for {stubs}:by_seed (p=1, Fisher's exact test):"
        " not distinguishable at 6 seeds"
    )
    assert out[6].endswith("(p=0.061, Fisher's exact test): not distinguishable at 6 seeds")
    report = json.loads(report_path.read_text())
    assert [r["recipe"] for r in report["recipes"]] == [f"{stubs}:by_seed", f"{stubs}:by_seed:every=2", f"{stubs}:exact"]
    assert [[row["seed"] for row in r["rows"]] for r in report["recipes"]] == [list(range(6))] * 3  # the same seeds
    assert report["recipes"][0]["p_value_against_first"] is None


def test_in_a_log_the_progress_is_a_line_per_finished_seed_and_the_plot_is_written(stubs, tmp_path, capsys):
    plot = tmp_path / "seeds.png"
    assert main(check_seeds_cli(stubs, "by_seed", "--seeds", "3", "--max-length", "12", "--plot", str(plot))) == 1
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("seeds:")]
    assert progress == [
        "seeds: 0/3 done, 0 running, 0 failed", "seeds: 1/3 done, 0 running, 0 failed",
        "seeds: 2/3 done, 0 running, 1 failed", "seeds: 3/3 done, 0 running, 2 failed",
    ]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(check_seeds_cli(stubs, "by_seed", "--seeds", "3", "--max-length", "12", "--quiet")) == 1
    assert "seeds:" not in capsys.readouterr().err


def test_a_recipe_across_seeds_on_a_task_from_the_command_line(tmp_path, monkeypatch, capsys):
    from test_seeds_engines import TASK_STUBS

    (tmp_path / "clitaskstubs.py").write_text(TASK_STUBS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SEQCHECK_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["compare-recipes", "clitaskstubs:parity_by_seed", "clitaskstubs:parity_by_seed", "--task", "parity",
            "--seeds", "2", "--workers", "0", "--train-length", "4", "--max-length", "6"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "task parity  training length 4  seeds 0..1 for every recipe"
    assert out[-1] == f"reproduce: seqcheck {' '.join(argv[:5])} --seeds 2 --train-length 4 --max-length 6"


def test_stop_early_makes_the_gate_sequential(stubs, capsys):
    argv = check_seeds_cli(stubs, "exact", "--seeds", "30", "--max-length", "12", "--max-failure-rate", "0.5", "--stop-early")
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:] == [
        "gate: pass: failure rate 0/8 = 0.0%, 95% interval 0.0%–47.7% (anytime-valid), below 50%",
        "stopped early: the sequential gate was decided after 8 seeds of 30 (its interval is valid at every number of"
        " seeds, so stopping on it is sound)",
        f"reproduce: seqcheck check-recipe {stubs}:exact --pattern 11000 --seeds 30 --max-length 12 --max-failure-rate 0.5"
        " --stop-early",
    ]
