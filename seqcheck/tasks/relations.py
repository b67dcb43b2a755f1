"""Metamorphic relations: label-free properties a task's answer obeys, checked by comparing the model with itself.

A relation maps an input ``x`` and parameters ``q`` to a related input ``r(x, q)`` on which the task's
answer is the same: the model must give ``r(x, q)`` the class it gives ``x``.  No oracle is consulted,
so a relation tests the model's consistency even where its accuracy is poor.  A relation's cases are
``(x, q)``, ordered by ``x`` in shortlex order, then by ``q``.

- :func:`transposition`: swapping two symbols changes nothing.  Transpositions generate every
  permutation, so a model invariant under every transposition is invariant under every permutation:
  this is permutation invariance, for tasks whose answer ignores order (parity, cycle navigation).
- :func:`neutral_insertion`: inserting a neutral symbol anywhere changes nothing (a 0 for parity, a
  "stay" for cycle navigation).
- :func:`interior_substitution`: changing a symbol strictly between the first and the last changes
  nothing (even pairs: its answer depends on the first and last symbols only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

__all__ = ["Relation", "interior_substitution", "neutral_insertion", "transposition"]


class Relation:
    """A metamorphic relation: ``related(x, q)`` must get the class ``x`` gets.

    Subclasses set ``name`` (an identifier: the form's name in a report) and implement
    :meth:`parameters` (a strategy), :meth:`all_parameters` (every ``q`` in order, for sweeps),
    :meth:`describe`, and one of :meth:`related` (one input) and :meth:`related_batch` (many at once).
    """

    name: str = "relation"

    def related_length(self, length: int) -> int:
        """The length of ``related(x, q)`` for ``x`` of ``length``."""
        return length

    def parameters(self, length: int, alphabet_size: int) -> st.SearchStrategy[tuple[int, ...]] | None:
        """A strategy of ``q`` for inputs of ``length``, shrinking toward the first in :meth:`all_parameters`;
        ``None`` where inputs of that length have no related input (a swap needs two symbols)."""
        raise NotImplementedError

    def all_parameters(self, length: int, alphabet_size: int) -> list[tuple[int, ...]]:
        raise NotImplementedError

    def related(self, x: np.ndarray, q: tuple[int, ...]) -> np.ndarray:
        return self.related_batch(x[None], [q])[0]

    def related_batch(self, xs: np.ndarray, qs: Sequence[tuple[int, ...]]) -> np.ndarray:
        """``related(xs[i], qs[i])`` for every row, ``(N, related_length(L))``: vectorized where a relation can."""
        return np.stack([self.related(x, q) for x, q in zip(xs, qs)])

    def describe(self, q: tuple[int, ...], symbols: Sequence[str]) -> str:
        """What the relation did, in words ("swap positions 0 and 3")."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<relation {self.name}>"


class _Transposition(Relation):
    name = "permutation"

    def parameters(self, length, alphabet_size):
        if length < 2:
            return None
        return st.integers(0, length - 2).flatmap(lambda i: st.tuples(st.just(i), st.integers(i + 1, length - 1)))

    def all_parameters(self, length, alphabet_size):
        return [(i, j) for i in range(length) for j in range(i + 1, length)]

    def related_batch(self, xs, qs):
        rows = np.arange(len(xs))
        i, j = np.asarray(qs, dtype=np.int64).reshape(-1, 2).T
        out = xs.copy()
        out[rows, i], out[rows, j] = xs[rows, j], xs[rows, i]
        return out

    def describe(self, q, symbols):
        return f"swap positions {q[0]} and {q[1]}"


class _NeutralInsertion(Relation):
    name = "neutral insertion"

    def __init__(self, symbol: int):
        self.symbol = int(symbol)

    def related_length(self, length):
        return length + 1

    def parameters(self, length, alphabet_size):
        return st.tuples(st.integers(0, length))

    def all_parameters(self, length, alphabet_size):
        return [(i,) for i in range(length + 1)]

    def related_batch(self, xs, qs):
        n, length = xs.shape
        at = np.asarray(qs, dtype=np.int64).reshape(n)
        columns = np.arange(length + 1)
        source = columns - (columns > at[:, None])  # position j takes x[j] before the insertion point, x[j-1] after
        out = np.take_along_axis(xs, np.minimum(source, length - 1), axis=1)
        out[np.arange(n), at] = self.symbol
        return out

    def describe(self, q, symbols):
        return f"insert {symbols[self.symbol]} at position {q[0]}"


class _InteriorSubstitution(Relation):
    name = "interior substitution"

    def parameters(self, length, alphabet_size):
        if length < 3:
            return None
        return st.tuples(st.integers(1, length - 2), st.integers(0, alphabet_size - 1))

    def all_parameters(self, length, alphabet_size):
        return [(i, s) for i in range(1, length - 1) for s in range(alphabet_size)]

    def related_batch(self, xs, qs):
        at, symbol = np.asarray(qs, dtype=np.int64).reshape(-1, 2).T
        out = xs.copy()
        out[np.arange(len(xs)), at] = symbol
        return out

    def describe(self, q, symbols):
        return f"set position {q[0]} to {symbols[q[1]]}"


def transposition() -> Relation:
    """Permutation invariance, as swaps of two positions (which generate every permutation)."""
    return _Transposition()


def neutral_insertion(symbol: int) -> Relation:
    """Inserting ``symbol`` (an index) at any position changes nothing."""
    if isinstance(symbol, bool) or not isinstance(symbol, (int, np.integer)) or symbol < 0:
        from seqcheck.errors import invalid

        raise invalid("symbol", symbol, "the index of the neutral symbol", "pass e.g. neutral_insertion(0)")
    return _NeutralInsertion(int(symbol))


def interior_substitution() -> Relation:
    """Changing any symbol strictly between the first and the last changes nothing."""
    return _InteriorSubstitution()
