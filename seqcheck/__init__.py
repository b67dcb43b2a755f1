"""seqcheck: property-based behaviour tests for trained sequence models.

The curated public API.  Importing seqcheck never imports TensorFlow: a framework is imported only
when a model of it is checked or loaded.
"""

from seqcheck import strategies
from seqcheck.assertions import InvariantViolation, assert_holds
from seqcheck.checking import check
from seqcheck.errors import InvalidArgument, ModelError, SeqcheckError
from seqcheck.invariants import (
    DEFAULT_INVARIANTS,
    BatchInvariance,
    Counterexample,
    Invariant,
    InvariantResult,
    LengthGeneralization,
    PeriodicConsistency,
    PhaseShiftInvariance,
    batch_invariance,
    length_generalization,
    periodic_consistency,
    phase_shift_invariance,
)
from seqcheck.models import ModelUnderTest, as_model
from seqcheck.patterns import Pattern
from seqcheck.report import Report
from seqcheck.space import CheckSpace
from seqcheck.subject import Subject, battery

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_INVARIANTS",
    "BatchInvariance",
    "CheckSpace",
    "Counterexample",
    "Invariant",
    "InvariantResult",
    "InvariantViolation",
    "InvalidArgument",
    "LengthGeneralization",
    "ModelError",
    "ModelUnderTest",
    "Pattern",
    "PeriodicConsistency",
    "PhaseShiftInvariance",
    "Report",
    "SeqcheckError",
    "Subject",
    "__version__",
    "as_model",
    "assert_holds",
    "batch_invariance",
    "battery",
    "check",
    "length_generalization",
    "periodic_consistency",
    "phase_shift_invariance",
    "strategies",
]
