"""How a form is searched: Hypothesis finds and shrinks, a batched sweep proves the minimum.

1. Hypothesis draws cases from the form's strategy (with the settings of the check's profile,
   :mod:`seqcheck.profiles`: bounded examples, no deadline; seeded by the check's seed) and
   shrinks the first violation it meets toward the documented order.
2. When the form's space is finite and its sweep fits the budget, the cases are then swept in key
   order, a block (one length, typically) per batched call, up to the case Hypothesis reported.
   The first violation met is the minimum under the order: it confirms Hypothesis's answer or
   replaces it with a smaller one.  When Hypothesis found nothing, the sweep covers the whole
   space, so "passed" means no case of the range violates the form (``exhaustive``).

Every model call goes through the context's memoizing evaluator, so the sweep never re-evaluates
a window that Hypothesis already tried.
"""

from __future__ import annotations

from random import Random

import numpy as np
from hypothesis import find
from hypothesis.errors import NoSuchExample

from seqcheck.invariants.base import Case, Context, Form, FormResult, Invariant, InvariantResult


def run_form(form: Form, ctx: Context) -> FormResult:
    """Search one form; return whether it holds and its minimal counterexample."""
    cases = windows = 0

    def violated(case: Case) -> bool:
        nonlocal cases, windows
        cases += 1
        windows += form.windows_per_case(ctx, case)
        return bool(form.violations(ctx, [case])[0])

    found: Case | None
    try:
        found = find(form.strategy(ctx), violated, settings=ctx.search_settings, random=Random(ctx.seed))
    except NoSuchExample:
        found = None

    exhaustive = confirmed = False
    blocks = form.blocks(ctx)
    if blocks is not None and ctx.space.sweep_symbols() <= ctx.exhaustive_budget:
        bound = None if found is None else form.key(ctx, found)
        for block in blocks:
            if bound is not None and form.key(ctx, block[0]) > bound:
                break
            mask = form.violations(ctx, block)
            cases += len(block)
            windows += sum(form.windows_per_case(ctx, case) for case in block)
            if mask.any():
                found = block[int(np.argmax(mask))]
                break
        else:
            exhaustive = found is None
        confirmed = found is not None

    return FormResult(
        form=form.name,
        passed=found is None,
        cases=cases,
        windows=windows,
        exhaustive=exhaustive,
        counterexample=None if found is None else form.counterexample(ctx, found),
        minimal_confirmed=confirmed,
    )


def run_invariant(invariant: Invariant, ctx: Context) -> InvariantResult:
    """Run every form of ``invariant`` that has cases in the space."""
    forms = [run_form(form, ctx) for form in invariant.forms if form.applies(ctx)]
    return invariant.finish(ctx, InvariantResult(invariant.name, forms))
