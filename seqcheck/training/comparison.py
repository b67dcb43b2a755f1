"""Recipes compared across the same seeds: does a variant (``fixed-window:dropout=0.15``) hold more often than the first?

Each recipe is checked by :func:`~seqcheck.training.seeds.check_seeds` on the same pattern (or task) and the same seeds, and
every variant's count of models that hold is compared with the first recipe's by Fisher's exact test
(:func:`~seqcheck.training.statistics.fisher_exact`, two-sided), in one sentence that claims a difference only where
the test finds one (:func:`~seqcheck.training.statistics.comparison_sentence`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from seqcheck.errors import invalid
from seqcheck.training.seeds import SeedsReport, check_seeds, resolve_recipe
from seqcheck.training.statistics import comparison_sentence, fisher_exact

__all__ = ["RecipeComparison", "compare_recipes"]


@dataclass
class RecipeComparison:
    """One :class:`~seqcheck.training.seeds.SeedsReport` per recipe, the first being the one the others are compared
    with."""

    reports: list[SeedsReport]

    def p_value(self, report: SeedsReport) -> float | None:
        """Fisher's exact test of ``report``'s models that hold against the first recipe's (``None`` for the first, or
        where a recipe has no finished seed)."""
        first = self.reports[0]
        if report is first or not report.n or not first.n:
            return None
        return fisher_exact(report.holds, report.n, first.holds, first.n)

    def sentences(self) -> list[str]:
        """What the evidence supports, one sentence per variant."""
        first = self.reports[0]
        return [
            comparison_sentence(report.recipe, report.holds, report.n, first.recipe, first.holds, first.n)
            if report.n and first.n else f"{report.recipe}: no comparison, no seed finished"
            for report in self.reports[1:]
        ]

    @property
    def reproduce(self) -> str:
        first = self.reports[0]
        argv = ["seqcheck", "compare-recipes", *(report.recipe for report in self.reports), *first.subject_options,
                "--seeds", str(first.seeds)]
        if first.first_seed:
            argv += ["--first-seed", str(first.first_seed)]
        if first.train_length != 10:
            argv += ["--train-length", str(first.train_length)]
        if first.max_length is not None:
            argv += ["--max-length", str(first.max_length)]
        return shlex.join(argv)

    def render(self) -> str:
        """The side-by-side table (holds, rate, 95% Wilson interval, errors, p against the first), then the
        sentences, then the command that reproduces it."""
        first = self.reports[0]
        width = max(len(report.recipe) for report in self.reports)
        lines = [
            f"{' '.join(first.subject_options).lstrip('-')}  training length {first.train_length}  seeds {first.first_seed}.."
            f"{first.first_seed + first.seeds - 1} for every recipe",
            f"{'recipe':<{width}}  holds   rate    95% interval (Wilson)  errors  p vs first (Fisher)",
        ]
        for report in self.reports:
            rate = "-" if report.rate is None else f"{report.rate:.1%}"
            interval = "-" if report.interval is None else f"{report.interval[0]:.1%}..{report.interval[1]:.1%}"
            p = self.p_value(report)
            lines.append(
                f"{report.recipe:<{width}}  {f'{report.holds}/{report.n}':<6}  {rate:<6}  {interval:<21}  "
                f"{report.errors:<6}  {'-' if p is None else f'{p:.2g}'}"
            )
        return "\n".join([*lines, *self.sentences(), f"reproduce: {self.reproduce}"])

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipes": [
                {**report.to_dict(), "p_value_against_first": self.p_value(report)} for report in self.reports
            ],
            "sentences": self.sentences(),
            "reproduce": self.reproduce,
        }


def compare_recipes(recipes: list[object], **options: Any) -> RecipeComparison:
    """Check each of ``recipes`` (specs as :func:`~seqcheck.training.seeds.resolve_recipe` reads them, at least two)
    across the same seeds with :func:`~seqcheck.training.seeds.check_seeds` (``options``: ``pattern`` or ``task``, ``seeds``,
    ``first_seed``, ``train_length``, ``max_length``, ``workers``, ``cache_dir``, ...), and compare them."""
    if len(recipes) < 2:
        raise invalid("recipes", list(recipes), "at least two recipes", "name the recipe to compare with first, then its variants")
    specs = [resolve_recipe(recipe) for recipe in recipes]  # a bad spec is one line before any training
    return RecipeComparison([check_seeds(spec, **options) for spec in specs])
