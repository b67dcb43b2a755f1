"""Phase-shift invariance."""

from __future__ import annotations

from seqcheck.invariants.base import Context, Invariant
from seqcheck.invariants.pairs import WindowPairForm

NAME, TITLE = "phase_shift_invariance", "phase-shift invariance"


class _StartShift(WindowPairForm):
    invariant = NAME

    def unit(self, ctx: Context) -> int:
        return 1

    def relation(self, ctx: Context, extra: int) -> str:
        return f"same end, start +{extra}"


class PhaseShiftInvariance(Invariant):
    """Where the window starts must not matter.

    Label-free form: two windows of the stream with the same end and different starts, both at
    least min context long, get the same prediction.  Oracle form: both of them predict the target
    (which they share).  A start-anchored model -- one that predicts ``s[phase + N]`` whatever the
    length -- breaks it whenever the start moves by a non-multiple of the period.

    Cases ``(length, shift, phase)`` compare ``window(phase, length + shift)`` with
    ``window(phase + shift, length)``, ordered by ``length`` nearest the training length, then the
    smallest shift, then the smallest phase.
    """

    name, title = NAME, TITLE
    forms = (_StartShift(), _StartShift(oracle=True))


phase_shift_invariance = PhaseShiftInvariance()
