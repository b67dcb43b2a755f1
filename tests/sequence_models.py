"""Hand-built models of sequence tasks: exact automata, and automata exact up to a length and wrong beyond.

Each is a callable on integer batches ``(B, L)`` returning one-hot probabilities ``(B, classes)``, so its
right answers are known without training: what seqcheck must report of it is exact.
"""

from __future__ import annotations

import numpy as np

from seqcheck.tasks import SequenceTask


def one_hot(classes: np.ndarray, count: int) -> np.ndarray:
    return np.eye(count)[classes]


class Exact:
    """The task's own oracle as a model: right on every input."""

    def __init__(self, task: SequenceTask):
        self.task = task
        self.__qualname__ = f"exact_{task.name.replace('-', '_')}"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return one_hot(self.task.targets(batch), self.task.class_count)


class LateBreaking:
    """Right on every input of length at most ``exact_through``; beyond, every answer is shifted to another class."""

    def __init__(self, task: SequenceTask, exact_through: int):
        self.task, self.exact_through = task, exact_through
        self.__qualname__ = f"late_{task.name.replace('-', '_')}_{exact_through}"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        targets = self.task.targets(batch)
        if batch.shape[1] > self.exact_through:
            targets = (targets + 1) % self.task.class_count
        return one_hot(targets, self.task.class_count)


class CountsFromTheStart:
    """Parity of the first ``window`` symbols only: right on inputs up to that length, and beyond it on exactly
    the inputs whose tail holds an even number of 1s."""

    def __init__(self, window: int):
        self.window = window
        self.__qualname__ = f"first_{window}_parity"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return one_hot(batch[:, : self.window].sum(axis=1) % 2, 2)
