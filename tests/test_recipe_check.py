"""Recipe-level properties: Hypothesis draws patterns and shrinks to the smallest breaking one."""

from __future__ import annotations

import json

from seqcheck import Pattern
from seqcheck.integrations.cli import main
from seqcheck.training.recipe_check import check_recipe, patterns_in_order
from tests.handmade import ExactRule, StartAnchored


def counting_recipe(pattern: Pattern):
    """A stand-in recipe: exact on period-2 patterns, start-anchored (N=10) on longer ones."""
    return ExactRule(pattern.text) if pattern.period == 2 else StartAnchored(pattern.text, train_length=10)


def test_patterns_in_order_are_the_primitive_ones_smallest_first():
    assert [p.text for p in patterns_in_order(2, 2, 3)] == ["01", "10", "001", "010", "011", "100", "101", "110"]


def test_smallest_breaking_pattern_is_found_and_confirmed():
    result = check_recipe(counting_recipe, max_period=5, max_examples=20)
    assert result.breaking == Pattern.parse("001")
    assert result.minimal_confirmed
    assert result.tried[Pattern.parse("01")].passed and result.tried[Pattern.parse("10")].passed
    assert not result.report["length generalization"].passed
    assert "breaks on pattern 001 (confirmed minimal)" in result.render()


def test_a_recipe_that_never_breaks_passes():
    result = check_recipe(lambda p: ExactRule(p.text), max_period=4, max_examples=10)
    assert result.passed and result.breaking is None and len(result.tried) > 1


def test_fixed_window_recipe_breaks_and_the_smallest_pattern_is_reported(tmp_path, capsys):
    """Trains the seed's recipe on the patterns of period 2 and 3 it needs (cached once per machine)."""
    report_path = tmp_path / "recipe.json"
    code = main(["check-recipe", "fixed-window", "--max-period", "3", "--max-examples", "3", "--json", str(report_path)])
    assert code == 1
    data = json.loads(report_path.read_text())
    assert data["breaking_pattern"] is not None and data["minimal_confirmed"]
    breaking = Pattern.parse(data["breaking_pattern"])
    smaller = [p for p in patterns_in_order(2, 2, 3) if (p.period, p.symbols) < (breaking.period, breaking.symbols)]
    assert all(data["tried"][p.text] for p in smaller), "every smaller pattern was trained and passed"
    assert not data["report"]["passed"]
    out = capsys.readouterr().out
    assert f"FAIL recipe fixed-window breaks on pattern {breaking}" in out
