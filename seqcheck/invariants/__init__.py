"""The library of invariants: each an importable object whose docstring states its definition."""

from seqcheck.invariants.base import Counterexample, Form, Invariant, InvariantResult, Prediction
from seqcheck.invariants.batch_invariance import BatchInvariance, batch_invariance
from seqcheck.invariants.length_generalization import LengthGeneralization, length_generalization
from seqcheck.invariants.periodic_consistency import PeriodicConsistency, periodic_consistency
from seqcheck.invariants.phase_shift import PhaseShiftInvariance, phase_shift_invariance

#: The battery :func:`seqcheck.check` runs by default, in report order.
DEFAULT_INVARIANTS: tuple[Invariant, ...] = (
    phase_shift_invariance,
    length_generalization,
    periodic_consistency,
    batch_invariance,
)

__all__ = [
    "DEFAULT_INVARIANTS",
    "BatchInvariance",
    "Counterexample",
    "Form",
    "Invariant",
    "InvariantResult",
    "LengthGeneralization",
    "PeriodicConsistency",
    "PhaseShiftInvariance",
    "Prediction",
    "batch_invariance",
    "length_generalization",
    "periodic_consistency",
    "phase_shift_invariance",
]
