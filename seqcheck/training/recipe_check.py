"""Recipe-level properties: is the training *procedure* wrong, not just one model?

``check_recipe(recipe)`` lets Hypothesis draw the patterns too.  Each drawn pattern's model is
trained by the recipe (through the model cache for the built-in recipes) and checked by
:func:`seqcheck.check`; a pattern "breaks" the recipe when any invariant fails.  Hypothesis
shrinks to the smallest breaking pattern (shortest period, then smallest symbols), and, when few
patterns precede it in that order, every one of them is trained and checked too, so the reported
pattern is the minimum.  Within it, the counterexample is the model-level minimum (length, then
phase), as :func:`seqcheck.check` reports it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

from hypothesis import Phase, find, settings
from hypothesis.errors import NoSuchExample

from seqcheck import strategies
from seqcheck.checking import check
from seqcheck.errors import invalid
from seqcheck.invariants import Invariant
from seqcheck.tasks.patterns import Pattern, primitive_period
from seqcheck.search.profiles import search_settings
from seqcheck.reports.report import Report

#: At most this many patterns preceding Hypothesis's answer are trained to confirm it is minimal.
DEFAULT_CONFIRM_LIMIT = 6


def patterns_in_order(alphabet_size: int, min_period: int, max_period: int) -> Iterator[Pattern]:
    """Every primitive pattern, smallest first: by period, then lexicographically by symbols."""
    for period in range(min_period, max_period + 1):
        for symbols in itertools.product(range(alphabet_size), repeat=period):
            if primitive_period(symbols) == period:
                yield Pattern.parse(symbols, alphabet_size=alphabet_size)


def pattern_key(pattern: Pattern) -> tuple:
    return (pattern.period, pattern.symbols)


@dataclass
class RecipeReport:
    """Which patterns were tried, and the smallest pattern on which the recipe's model breaks."""

    recipe: str
    train_length: int
    seed: int
    tried: dict[Pattern, Report] = field(default_factory=dict)
    breaking: Pattern | None = None
    minimal_confirmed: bool = False

    @property
    def passed(self) -> bool:
        return self.breaking is None

    @property
    def report(self) -> Report | None:
        """The model-level report of the smallest breaking pattern."""
        return None if self.breaking is None else self.tried[self.breaking]

    def render(self) -> str:
        tried = "  ".join(f"{p}:{'pass' if r.passed else 'FAIL'}" for p, r in sorted(self.tried.items(), key=lambda kv: pattern_key(kv[0])))
        lines = [f"recipe {self.recipe} (N={self.train_length}, seed {self.seed})  patterns tried: {tried}"]
        if self.breaking is None:
            lines.append(f"pass: no pattern tried breaks recipe {self.recipe}")
            return "\n".join(lines)
        scope = "confirmed minimal" if self.minimal_confirmed else "smallest found by Hypothesis"
        lines.append(f"FAIL recipe {self.recipe} breaks on pattern {self.breaking} ({scope}):")
        lines += ["  " + line for line in self.tried[self.breaking].render().splitlines()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "passed": self.passed,
            "train_length": self.train_length,
            "seed": self.seed,
            "breaking_pattern": None if self.breaking is None else self.breaking.text,
            "minimal_confirmed": self.minimal_confirmed,
            "tried": {p.text: r.passed for p, r in self.tried.items()},
            "report": None if self.report is None else self.report.to_dict(),
        }


def _trainer(
    recipe: str | Callable[[Pattern], Any], train_length: int, seed: int, cache_dir: str | None, verbose: int
) -> tuple[str, Callable[[Pattern], Any]]:
    if callable(recipe):
        return getattr(recipe, "__name__", "recipe"), recipe
    from seqcheck.training.cache import cached_model_path
    from seqcheck.training.recipes import get_recipe

    name = get_recipe(recipe).name
    return name, lambda pattern: cached_model_path(
        name, pattern, train_length=train_length, seed=seed, cache_dir=cache_dir, verbose=verbose
    )


def check_recipe(
    recipe: str | Callable[[Pattern], Any],
    *,
    alphabet_size: int = 2,
    min_period: int = 2,
    max_period: int = 6,
    train_length: int = 10,
    max_length: int | None = None,
    seed: int = 0,
    max_examples: int = 8,
    confirm_limit: int = DEFAULT_CONFIRM_LIMIT,
    invariants: Iterable[Invariant] | None = None,
    cache_dir: str | None = None,
    verbose: int = 0,
) -> RecipeReport:
    """Find the smallest pattern on which ``recipe``'s trained model breaks an invariant.

    ``recipe`` is a built-in recipe name (``"fixed-window"``, ``"varied-window"``; models are
    trained once and kept in the model cache, ``cache_dir`` or the default) or a function ``pattern -> model`` (anything
    :func:`seqcheck.check` accepts).  Hypothesis draws up to ``max_examples`` patterns over
    ``{0..alphabet_size-1}`` with periods ``min_period..max_period``.
    """
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise invalid("max_examples", max_examples, "a positive whole number", "pass e.g. max_examples=8")
    battery = None if invariants is None else list(invariants)
    drawn = strategies.patterns(alphabet_size=alphabet_size, min_period=min_period, max_period=max_period)
    name, train = _trainer(recipe, train_length, seed, cache_dir, verbose)
    result = RecipeReport(recipe=name, train_length=train_length, seed=seed)

    def breaks(pattern: Pattern) -> bool:
        if pattern not in result.tried:
            result.tried[pattern] = check(
                train(pattern), pattern=pattern, train_length=train_length, max_length=max_length, seed=seed, invariants=battery
            )
        return not result.tried[pattern].passed

    # Each example trains a model: no replays from a database, and no phase beyond finding and shrinking.
    budget = settings(search_settings("ci", max_examples=max_examples), phases=(Phase.generate, Phase.shrink))
    try:
        found = find(drawn, breaks, settings=budget, random=Random(seed))
    except NoSuchExample:
        return result

    preceding = list(itertools.takewhile(lambda p: pattern_key(p) < pattern_key(found), patterns_in_order(alphabet_size, min_period, max_period)))
    if len(preceding) <= confirm_limit:
        found = next((p for p in preceding if breaks(p)), found)
        result.minimal_confirmed = True
    result.breaking = found
    return result
