"""The library of invariants: each an importable object whose docstring states its definition."""

from collections.abc import Sequence

from seqcheck.errors import invalid
from seqcheck.invariants.base import Counterexample, Form, Invariant, InvariantResult, Prediction
from seqcheck.invariants.batch_invariance import BatchInvariance, batch_invariance
from seqcheck.invariants.length_generalization import LengthGeneralization, length_generalization
from seqcheck.invariants.metamorphic import MetamorphicRelations, metamorphic_relations
from seqcheck.invariants.periodic_consistency import PeriodicConsistency, periodic_consistency
from seqcheck.invariants.phase_shift import PhaseShiftInvariance, phase_shift_invariance

#: The battery :func:`seqcheck.check` runs by default on a stream task (a pattern), in report order.
DEFAULT_INVARIANTS: tuple[Invariant, ...] = (
    phase_shift_invariance,
    length_generalization,
    periodic_consistency,
    batch_invariance,
)
#: Every invariant of the library, in report order: the battery run by default on a sequence task, where the
#: stream-task invariants (phase-shift invariance, periodic consistency) are reported as not applicable.
ALL_INVARIANTS: tuple[Invariant, ...] = (*DEFAULT_INVARIANTS, metamorphic_relations)


def default_battery(task) -> tuple[Invariant, ...]:
    """The invariants :func:`seqcheck.check` runs on ``task`` when none are named."""
    return DEFAULT_INVARIANTS if task.kind == "stream" else ALL_INVARIANTS


def resolve_invariant(spec: object, among: Sequence[Invariant] = ALL_INVARIANTS, *, option: str = "invariants") -> Invariant:
    """The invariant ``spec`` names: an :class:`Invariant` itself, or the identifier (``length_generalization``) or
    title ("length generalization") of one of ``among``; else a one-line error listing the valid names."""
    if isinstance(spec, Invariant):
        return spec
    for invariant in among:
        if spec in (invariant.name, invariant.title):
            return invariant
    raise invalid(
        option, spec, f"one of {', '.join(inv.name for inv in among)} (or their titles, such as {among[0].title!r})",
        "name an invariant by its identifier",
    )

__all__ = [
    "ALL_INVARIANTS",
    "DEFAULT_INVARIANTS",
    "BatchInvariance",
    "Counterexample",
    "Form",
    "Invariant",
    "InvariantResult",
    "LengthGeneralization",
    "MetamorphicRelations",
    "PeriodicConsistency",
    "PhaseShiftInvariance",
    "Prediction",
    "batch_invariance",
    "default_battery",
    "length_generalization",
    "metamorphic_relations",
    "periodic_consistency",
    "phase_shift_invariance",
    "resolve_invariant",
]
