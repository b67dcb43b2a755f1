"""seqcheck: property-based behaviour tests for trained sequence models.

The curated public API, loaded on first use (PEP 562): ``import seqcheck`` imports none of it, so the
``seqcheck`` command starts with only what it needs, and ``seqcheck.check`` loads the checking
machinery when first touched.  Importing seqcheck never imports TensorFlow: a framework is imported
only when a model of it is checked or loaded.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Each public name, by the module that defines it.
_PUBLIC = {
    "seqcheck.integrations.assertions": ("InvariantViolation", "assert_holds"),
    "seqcheck.checking": ("check",),
    "seqcheck.errors": ("InvalidArgument", "ModelError", "SeqcheckError"),
    "seqcheck.invariants": (
        "DEFAULT_INVARIANTS", "BatchInvariance", "Counterexample", "Invariant", "InvariantResult", "LengthGeneralization",
        "PeriodicConsistency", "PhaseShiftInvariance", "batch_invariance", "length_generalization", "periodic_consistency",
        "phase_shift_invariance",
    ),
    "seqcheck.models": ("ModelUnderTest", "as_model"),
    "seqcheck.tasks.patterns": ("Pattern",),
    "seqcheck.reports.report": ("Report",),
    "seqcheck.search.space": ("CheckSpace",),
    "seqcheck.integrations.subject": ("Subject", "battery"),
    "seqcheck.training.seeds": ("SeedsReport", "check_seeds"),
    "seqcheck.training.comparison": ("RecipeComparison", "compare_recipes"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
#: Public modules, imported on first use like the names.
_MODULES = ("strategies",)

__all__ = sorted([*_HOME, *_MODULES, "__version__"])


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # later look-ups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
