"""How a form is searched: Hypothesis finds and shrinks, a batched sweep proves the minimum.

1. Hypothesis draws cases from the form's strategy (with the settings of the check's profile,
   :mod:`seqcheck.search.profiles`: bounded examples, no deadline; seeded by the check's seed) and
   shrinks the first violation it meets toward the documented order.
2. When the form's space is finite and its sweep fits the budget (:meth:`Form.sweep_cost`, the
   symbols the sweep would feed the model, against the check's ``exhaustive_budget``), the cases
   are then swept in key order up to the case Hypothesis reported (:meth:`Form.sweep`).  The first
   violation met is the minimum under the order: it confirms Hypothesis's answer or replaces it
   with a smaller one (``minimal_confirmed``).  When Hypothesis found nothing, the sweep covers the
   whole space, so "passed" means no case of the range violates the form (``exhaustive``).
   Over the budget, a counterexample is Hypothesis's shrunk one, not confirmed minimal, and a pass
   means only that the sampled cases held.

Every model call goes through the context's memoizing evaluator, so the sweep never re-evaluates
a window that Hypothesis already tried.
"""

from __future__ import annotations

from seqcheck.invariants.base import Case, Context, Form, FormResult, Invariant, InvariantResult
from seqcheck.tasks.base import SEQUENCE


def run_form(form: Form, ctx: Context, position: int = 0) -> FormResult:
    """Search one form; return whether it holds and its minimal counterexample.

    ``position`` is the form's place in its invariant: it breaks ties of keys in :attr:`FormResult.rank`.
    """
    cases = windows = 0

    def violated(case: Case) -> bool:
        nonlocal cases, windows
        cases += 1
        windows += form.windows_per_case(ctx, case)
        return bool(form.violations(ctx, [case])[0])

    found = form.search(ctx, violated)

    exhaustive = confirmed = over_budget = length_confirmed = sampled = False
    through = None
    if form.finite:
        sweep = form.sweep(ctx, None if found is None else form.key(ctx, found)) if form.sweep_cost(ctx) <= ctx.exhaustive_budget else None
        over_budget = sweep is None or sweep.over_budget
        if sweep is not None:
            cases += sweep.cases
            windows += sweep.windows
            through = sweep.through
            if sweep.found is not None:
                found = sweep.found
            exhaustive = sweep.complete and found is None
            # Minimal only where the sweep itself met the violation, having judged every smaller case first.
            confirmed = sweep.found is not None and not sweep.over_budget
    if found is None and (found := form.known_violation(ctx)) is not None:
        sampled = True
        cases += 1
    if found is not None and form.kind == SEQUENCE:
        length = form.key(ctx, found)[0]
        lengths = ctx.space.lengths
        shortest_unswept = 0 if through is None else lengths.index(through) + 1
        length_confirmed = confirmed or lengths.index(length) == shortest_unswept

    return FormResult(
        form=form.name,
        passed=found is None,
        cases=cases,
        windows=windows,
        exhaustive=exhaustive,
        counterexample=None if found is None else form.counterexample(ctx, found),
        minimal_confirmed=confirmed,
        case=found,
        rank=() if found is None else (*form.key(ctx, found), position),
        over_budget=over_budget,
        exhaustive_through=through,
        length_confirmed=length_confirmed,
        sampled=sampled,
    )


def run_invariant(invariant: Invariant, ctx: Context) -> InvariantResult:
    """Run every form of ``invariant`` that checks the task and has cases in the space; record why the others have none."""
    if (reason := invariant.inapplicable_to(ctx.task)) is not None:
        return InvariantResult(invariant.name, [], title=invariant.title, not_applicable={"task": reason})
    own = invariant.forms_for(ctx.task)
    not_applicable = {form.name: reason for form in own if (reason := form.inapplicable(ctx))}
    forms = [run_form(form, ctx, position) for position, form in enumerate(own) if form.name not in not_applicable]
    return invariant.finish(ctx, InvariantResult(invariant.name, forms, title=invariant.title, not_applicable=not_applicable))
