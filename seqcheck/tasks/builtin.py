"""The built-in sequence tasks: the regular tasks of Delétang et al. (ICLR 2023), and Dyck-1 beyond them.

Each is whole-sequence classification: an input of any valid length in, one class out.  The
docstring of each states its definition; its oracle is vectorized over a batch.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from seqcheck.tasks.base import SequenceTask, positional_inputs
from seqcheck.tasks.relations import interior_substitution, neutral_insertion, transposition

__all__ = ["BUILTIN_TASKS", "cycle_navigation", "dyck_1", "even_pairs", "modular_arithmetic", "parity"]


class Parity(SequenceTask):
    """Parity: the number of 1s in a binary input, mod 2 (class ``even`` or ``odd``).

    Its answer ignores order (permutation invariance) and a 0 inserted anywhere changes nothing.
    """


parity = Parity(
    "parity", symbols=["0", "1"], classes=["even", "odd"],
    targets=lambda batch: batch.sum(axis=1) % 2,
    relations=[transposition(), neutral_insertion(0)],
)


class EvenPairs(SequenceTask):
    """Even pairs: whether a binary input's numbers of ``01`` and ``10`` pairs are equal in parity, which
    holds exactly when its first symbol equals its last (class ``yes`` or ``no``).

    Changing a symbol strictly between the first and the last changes nothing.
    """


even_pairs = EvenPairs(
    "even-pairs", symbols=["a", "b"], classes=["no", "yes"],
    targets=lambda batch: (batch[:, 0] == batch[:, -1]).astype(np.int64),
    relations=[interior_substitution()],
)

#: Symbol indices of modular arithmetic: the digits 0..4, then the operators.
_PLUS, _MINUS, _TIMES = 5, 6, 7


def _evaluate_mod5(batch: np.ndarray) -> np.ndarray:
    """``d0 o1 d2 o3 d4 ...`` evaluated with ``*`` before ``+`` and ``-``, left to right, mod 5."""
    total = np.zeros(len(batch), dtype=np.int64)
    sign = np.ones(len(batch), dtype=np.int64)
    term = batch[:, 0].copy()
    for position in range(1, batch.shape[1], 2):
        op, digit = batch[:, position], batch[:, position + 1]
        times = op == _TIMES
        closed = ~times  # a + or - closes the current product term
        total = np.where(closed, (total + sign * term) % 5, total)
        sign = np.where(closed, np.where(op == _MINUS, -1, 1), sign)
        term = np.where(times, term * digit % 5, digit)
    return (total + sign * term) % 5


class ModularArithmetic(SequenceTask):
    """Modular arithmetic: an expression of digits 0..4 and operators ``+ - *`` alternating, starting and ending
    with a digit (so of odd length), evaluated with the usual precedence (``*`` first), mod 5 (classes 0..4).

    Inputs hold a digit at even positions and an operator at odd ones; lengths are odd.
    """


def _modular_arithmetic_at(position: int, length: int) -> tuple[int, ...]:
    return (0, 1, 2, 3, 4) if position % 2 == 0 else (_PLUS, _MINUS, _TIMES)


modular_arithmetic = ModularArithmetic(
    "modular-arithmetic", symbols=["0", "1", "2", "3", "4", "+", "-", "*"], classes=["0", "1", "2", "3", "4"],
    targets=_evaluate_mod5, alphabet_at=_modular_arithmetic_at, valid_length=lambda length: length % 2 == 1,
)


class CycleNavigation(SequenceTask):
    """Cycle navigation: moves ``-1``, ``0`` (stay) and ``+1`` on a cycle of 5 positions, starting at 0; the
    class is the final position (0..4).

    Its answer ignores order (permutation invariance) and a "stay" inserted anywhere changes nothing.
    """


cycle_navigation = CycleNavigation(
    "cycle-navigation", symbols=["-1", "0", "+1"], classes=["0", "1", "2", "3", "4"],
    targets=lambda batch: (batch - 1).sum(axis=1) % 5,
    relations=[transposition(), neutral_insertion(1)],
)


def _balanced(batch: np.ndarray) -> np.ndarray:
    depth = np.cumsum(np.where(batch == 0, 1, -1), axis=1)
    return ((depth.min(axis=1) >= 0) & (depth[:, -1] == 0)).astype(np.int64)


def _dyck_word(data: bytes) -> np.ndarray:
    """A balanced word of ``len(data)`` brackets (odd lengths end with one unmatched bracket), driven by bytes:
    at each step open when a byte is below 128 and closing is still possible later; all-zero bytes give ``((...))``."""
    length = len(data)
    out = np.empty(length, dtype=np.int64)
    depth = 0
    for i, byte in enumerate(data):
        remaining = length - i
        opening = depth == 0 or (byte < 128 and depth + 1 <= remaining - 1)
        out[i] = 0 if opening else 1
        depth += 1 if opening else -1
    return out


def _dyck_inputs(length: int) -> st.SearchStrategy[np.ndarray]:
    # Random brackets are rarely balanced: half the draws are words built to be balanced. Any input first, so that
    # shrinking goes to the shortlex minimum.
    return st.one_of(positional_inputs([(0, 1)] * length), st.binary(min_size=length, max_size=length).map(_dyck_word))


def _dyck_sample(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    plain = rng.integers(0, 2, size=(n, length))
    built = np.stack([_dyck_word(bytes(rng.integers(0, 256, size=length, dtype=np.uint8))) for _ in range(n // 2)]) if n // 2 else plain[:0]
    return np.concatenate([built, plain[: n - len(built)]])


class Dyck1(SequenceTask):
    """Dyck-1: whether a word of brackets ``(`` and ``)`` is balanced -- every prefix opens at least as many as it
    closes, and the whole word as many (class ``balanced`` or ``unbalanced``).  A context-free language, beyond
    the finite automata of the regular tasks.

    Half of the drawn and sampled inputs are built balanced, since random brackets rarely are.
    """


dyck_1 = Dyck1(
    "dyck-1", symbols=["(", ")"], classes=["unbalanced", "balanced"],
    targets=_balanced, inputs=_dyck_inputs, sample=_dyck_sample,
)

#: The built-in tasks, by name, in the order ``seqcheck tasks`` lists them.
BUILTIN_TASKS: dict[str, SequenceTask] = {
    task.name: task for task in (parity, even_pairs, modular_arithmetic, cycle_navigation, dyck_1)
}
