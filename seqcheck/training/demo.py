"""``seqcheck demo``: the seed's story, reproduced and caught, on the built-in reference models.

Trains (or takes from the cache) the seed's model and its fix, checks both, and shows side by
side the seed's table (accuracy over the phases at lengths N+0..N+14), which invariants hold for
which model, and the seed model's minimal counterexamples.  It succeeds when seqcheck catches the
seed model's violation and finds none in the fixed model over the checked range.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqcheck.checking import check
from seqcheck.training.reference import FIXED, SEED, ReferenceModel
from seqcheck.reports.report import Report, counterexample_heading

TABLE_SPAN = 15  # lengths N+0 .. N+14, as in the seed's question


@dataclass
class DemoOutcome:
    seed: Report
    fixed: Report

    @property
    def succeeded(self) -> bool:
        """The seed model's violation was caught and the fixed model showed none."""
        return not self.seed.passed and self.fixed.passed


def run_demo(*, seed: int = 0, max_length: int | None = None, cache_dir: str | None = None, verbose: int = 0) -> DemoOutcome:
    """Check both reference models (trained through the cache in ``cache_dir`` when missing)."""
    reports = [
        check(ref.path(cache_dir=cache_dir, verbose=verbose), pattern=ref.pattern, train_length=ref.train_length, max_length=max_length, seed=seed)
        for ref in (SEED, FIXED)
    ]
    return DemoOutcome(*reports)


def _row(label: str, cells: list[str], width: int = 6) -> str:
    return f"  {label:<24}" + "".join(f"{cell:>{width}}" for cell in cells)


def render_demo(outcome: DemoOutcome, refs: tuple[ReferenceModel, ReferenceModel] = (SEED, FIXED)) -> str:
    seed_ref, fixed_ref = refs
    n = seed_ref.train_length
    space = outcome.seed.space
    lines = [
        f"seqcheck demo: the seed's model against its fix -- {space.describe()}  seed {outcome.seed.seed}",
        f"  seed  = {seed_ref.summary} ({seed_ref.recipe})",
        f"  fixed = {fixed_ref.summary} ({fixed_ref.recipe})",
        "",
        f"accuracy over the {space.pattern.period} phases at length N+i (N = {n})",
        _row("i", [str(i) for i in range(TABLE_SPAN)], 5),
    ]
    for name, report in (("seed", outcome.seed), ("fixed", outcome.fixed)):
        acc = report["length generalization"].accuracy_by_length or {}
        lines.append(_row(name, [f"{acc[n + i]:.1f}" if n + i in acc else "-" for i in range(TABLE_SPAN)], 5))
    lines += ["", _row("invariant", ["seed", "fixed"], 8)]
    for seed_result, fixed_result in zip(outcome.seed.results, outcome.fixed.results):
        lines.append(_row(seed_result.title, ["pass" if seed_result.passed else "FAIL", "pass" if fixed_result.passed else "FAIL"], 8))
    for name, report in (("seed", outcome.seed), ("fixed", outcome.fixed)):
        if report.failures:
            lines += ["", f"{name}: counterexamples"]
            for result in report.failures:
                lines.append(f"  {result.title}, {counterexample_heading(result)}")
                lines += ["    " + text for text in result.counterexample.lines()]
            lines += [f"  diagnosis: {text}" for text in report.diagnosis]
            lines.append(f"  reproduce: {report.reproduce}")
    lengths = f"lengths {space.min_length}..{space.max_length}"
    if outcome.succeeded:
        lines += ["", f"verdict: seqcheck caught the seed model's violations and found none in the fixed model ({lengths})."]
    else:
        seed_says = "caught the seed model's violations" if not outcome.seed.passed else "found NO violation in the seed model"
        fixed_says = "found none in the fixed model" if outcome.fixed.passed else "found violations in the fixed model too"
        lines += ["", f"verdict: UNEXPECTED -- seqcheck {seed_says} and {fixed_says} ({lengths})."]
    return "\n".join(lines)
