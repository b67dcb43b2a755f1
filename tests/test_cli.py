"""The ``seqcheck check`` command: output, exit codes, JSON report, and bad input."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pytest

from seqcheck.integrations.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqcheck", *args], capture_output=True, text=True, timeout=300)


def test_seed_model_fails_with_its_counterexample_and_json(seed_model_path, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = main(["check", str(seed_model_path), "--pattern", "11000", "--train-length", "10", "--json", str(report_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL phase-shift invariance" in out and "FAIL length generalization" in out
    assert f"reproduce: seqcheck check {seed_model_path} --pattern 11000 --train-length 10 --engine numpy --seed 0" in out

    data = json.loads(report_path.read_text())
    assert data["passed"] is False and data["pattern"] == "11000" and data["train_length"] == 10
    names = [inv["name"] for inv in data["invariants"]]
    assert names == ["phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance"]
    lengths = data["invariants"][1]
    cx = lengths["counterexample"]
    assert lengths["passed"] is False and lengths["title"] == "length generalization"
    assert (cx["length"], cx["phase"], cx["expected"], cx["predicted"]) == (11, 1, 0, 1)
    assert cx["window"]["symbols"] == [1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
    assert lengths["accuracy_by_length"]["10"] == 1.0


@pytest.mark.slow
def test_reproduce_line_reproduces_the_same_report(seed_model_path, tmp_path, capsys):
    """The printed line, run as a user pastes it into a shell (a fresh process), gives the same report."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    model = tmp_path / "my models" / "seed's model.keras"  # words a shell would split or choke on
    model.parent.mkdir()
    shutil.copyfile(seed_model_path, model)
    args = ["check", str(model), "--pattern", "11000", "--train-length", "10", "--max-length", "30",
            "--max-examples", "30", "--seed", "4"]
    assert main([*args, "--json", str(first)]) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reproduce: "))
    command = shlex.split(line.removeprefix("reproduce: "))
    assert command[0] == "seqcheck"
    result = subprocess.run([sys.executable, "-m", "seqcheck", *command[1:], "--json", str(second)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == line
    # No field of the report legitimately differs between the two runs but why the engine ran: the line asked for it.
    reproduced, original = json.loads(second.read_text()), json.loads(first.read_text())
    assert reproduced["model"].pop("engine_reason") == "as asked (--engine=numpy)"
    assert original["model"].pop("engine_reason").startswith("its weights in NumPy, verified on a probe")
    assert reproduced == original


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["check", "missing.keras", "--pattern", "11000"], "no such file"),
        (["check", "{model}", "--pattern", "0000"], "period of at least 2"),
        (["check", "{model}", "--pattern", "1,0 0"], "do not mix separators"),
        (["check", "{model}", "--pattern", "11000", "--max-length", "2"], "--max-length=2"),
        (["check", "{model}", "--pattern", "11000", "--train-length", "0"], "--train-length=0"),
        (["check", "{model}", "--pattern", "11000", "--train-length", "ten"], "--train-length='ten'"),
        (["check", "{model}", "--pattern", "11000", "--json", "{tmp}/no/such/dir/r.json"], "create"),
        (["check", "{model}"], "--pattern"),
        (["check", "{model}", "--pattern", "0120"], "alphabet"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(args, fragment, seed_model_path, tmp_path):
    args = [a.format(model=seed_model_path, tmp=tmp_path) for a in args]
    result = run(*args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_passing_model_exits_0(tmp_path, capsys):
    from seqcheck.training.cache import cached_model_path

    path = cached_model_path("varied-window", "11000", train_length=10, seed=0)
    code = main(["check", str(path), "--pattern", "11000", "--train-length", "10"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out


def test_reproduce_line_carries_every_option_that_shapes_the_check(seed_model_path, capsys):
    args = ["check", str(seed_model_path), "--pattern", "11000", "--train-length", "10", "--max-length", "30",
            "--max-examples", "20", "--profile", "dev", "--causal", "no", "--seed", "3"]
    assert main(args) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reproduce: "))
    assert line == (f"reproduce: seqcheck check {seed_model_path} --pattern 11000 --train-length 10 --max-length 30"
                    " --max-examples 20 --profile dev --engine numpy --causal no --seed 3")
    assert main(line.removeprefix("reproduce: ").split()[1:]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == line
