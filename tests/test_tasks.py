"""The task abstraction: built-in oracles against their definitions, shortlex order, strategies, user tasks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import seqcheck
from seqcheck.tasks import (
    BUILTIN_TASKS, SequenceTask, cycle_navigation, dyck_1, even_pairs, modular_arithmetic, parity, positional_inputs,
    resolve_task,
)


def every_input(task, length):
    return np.concatenate(list(task.enumerate(length)))


# -- Each built-in oracle is its definition, checked by brute force on every input of short lengths -----------


def brute_force(name: str, symbols: tuple[int, ...]) -> int:
    if name == "parity":
        return sum(symbols) % 2
    if name == "even-pairs":  # the numbers of ab and ba pairs, compared in parity
        pairs = ["".join("ab"[s] for s in symbols[i : i + 2]) for i in range(len(symbols) - 1)]
        return int(pairs.count("ab") % 2 == pairs.count("ba") % 2)
    if name == "modular-arithmetic":  # Python's own precedence, then mod 5
        text = "".join(modular_arithmetic.symbols[s] for s in symbols)
        return eval(text) % 5  # noqa: S307 - digits and operators only, built above
    if name == "cycle-navigation":
        return sum(s - 1 for s in symbols) % 5
    depth = 0  # dyck-1
    for s in symbols:
        depth += 1 if s == 0 else -1
        if depth < 0:
            return 0
    return int(depth == 0)


@pytest.mark.parametrize("task", BUILTIN_TASKS.values(), ids=BUILTIN_TASKS)
def test_each_oracle_is_its_definition_on_every_input_through_length_7(task):
    for length in range(1, 8):
        if not task.valid_length(length):
            assert task.count(length) == 0
            continue
        inputs = every_input(task, length)
        assert len(inputs) == task.count(length)
        expected = [brute_force(task.name, tuple(int(s) for s in row)) for row in inputs]
        assert task.targets(inputs).tolist() == expected
        assert [task.target(row) for row in inputs[:20]] == expected[:20]


def test_modular_arithmetic_respects_precedence_and_odd_lengths():
    one_plus_two_times_three = [1, 5, 2, 7, 3]  # 1 + 2 * 3 = 7
    assert modular_arithmetic.text(one_plus_two_times_three) == "1 + 2 * 3"
    assert modular_arithmetic.target(one_plus_two_times_three) == 2
    assert modular_arithmetic.target([4, 6, 4, 7, 4]) == (4 - 16) % 5
    assert [modular_arithmetic.valid_length(n) for n in range(1, 6)] == [True, False, True, False, True]


# -- Shortlex order --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", [parity, modular_arithmetic, cycle_navigation], ids=lambda t: t.name)
def test_enumeration_is_shortlex_and_complete(task):
    length = 5
    inputs = [tuple(row) for row in every_input(task, length).tolist()]
    allowed = [task.alphabet_at(i, length) for i in range(length)]
    assert inputs == list(itertools.product(*allowed))  # lexicographic by symbol index, every input once
    assert inputs == sorted(inputs)


def test_enumeration_comes_in_blocks_of_the_requested_size():
    blocks = list(parity.enumerate(10, block=300))
    assert [len(b) for b in blocks] == [300, 300, 300, 124]
    assert np.concatenate(blocks).tolist() == every_input(parity, 10).tolist()


# -- Strategies shrink toward the shortlex minimum -----------------------------------------------------------


@given(st.data())
@settings(max_examples=50, derandomize=True, database=None)
def test_positional_inputs_draw_only_allowed_symbols(data):
    radices = data.draw(st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=6, unique=True).map(sorted), min_size=1, max_size=30))
    x = data.draw(positional_inputs(radices))
    assert len(x) == len(radices)
    assert all(int(s) in allowed for s, allowed in zip(x, radices))


def test_positional_inputs_shrink_to_the_shortlex_minimum_of_a_condition():
    # The smallest binary input of length 20 holding three 1s is 0...0111.
    found = find(positional_inputs([(0, 1)] * 20), lambda x: x.sum() >= 3, settings=settings(database=None, derandomize=True))
    assert found.tolist() == [0] * 17 + [1, 1, 1]
    # Where symbols interact, shrinking finds a small case, not always the smallest: why sweeps confirm minima.
    expression = find(modular_arithmetic.inputs(7), lambda x: modular_arithmetic.target(x) == 4, settings=settings(database=None, derandomize=True))
    assert modular_arithmetic.target(expression) == 4 and modular_arithmetic.count(7) == 5**4 * 3**3


def test_dyck_inputs_hold_balanced_words_often():
    balanced = []

    @given(dyck_1.inputs(12))
    @settings(max_examples=100, derandomize=True, database=None)
    def draw(x):
        balanced.append(dyck_1.target(x))

    draw()
    assert sum(balanced) >= len(balanced) // 4  # random brackets of length 12 are balanced 132 times in 4096
    sample = dyck_1.sample(np.random.default_rng(0), 100, 12)
    assert dyck_1.targets(sample).sum() >= 45


# -- A user's task: a few lines ------------------------------------------------------------------------------


def test_a_user_task_is_a_few_lines_and_checked_like_a_built_in():
    majority = SequenceTask(
        "majority", symbols=["0", "1"], classes=["more 0s", "more 1s"],
        target=lambda seq: int(2 * sum(seq) > len(seq)),
    )

    def model(batch):
        return np.eye(2)[(2 * batch.sum(axis=1) > batch.shape[1]).astype(int)]

    report = seqcheck.check(model, task=majority, max_length=14)
    assert report.passed
    assert report["length_generalization"].exhaustive  # every input of 1..14 swept
    assert report["metamorphic_relations"].status == "not applicable"  # it declared none
    assert "task majority (symbols 0 1; classes more 0s, more 1s)" in report.render()


def test_a_user_task_with_an_invalid_definition_is_one_line():
    with pytest.raises(seqcheck.InvalidArgument, match=r"^symbols='01': expected a list of symbol names"):
        SequenceTask("t", symbols="01", classes=["a", "b"], target=lambda s: 0)
    with pytest.raises(seqcheck.InvalidArgument, match=r"^target=None: expected the task's oracle"):
        SequenceTask("t", symbols=["0", "1"], classes=["a", "b"])
    with pytest.raises(seqcheck.InvalidArgument, match=r"^name='my task': expected a task identifier without spaces"):
        SequenceTask("my task", symbols=["0", "1"], classes=["a", "b"], target=lambda s: 0)


def test_tasks_resolve_by_name_and_module_attr(tmp_path, monkeypatch):
    assert resolve_task("parity") is parity and resolve_task(even_pairs) is even_pairs
    (tmp_path / "my_tasks.py").write_text(
        "from seqcheck.tasks import SequenceTask\n"
        "first = SequenceTask('first', symbols=['a', 'b'], classes=['a', 'b'], target=lambda s: s[0])\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_task("my_tasks:first").name == "first"
    with pytest.raises(seqcheck.InvalidArgument, match=r"^task='my_tasks:second': expected a seqcheck task object at second"):
        resolve_task("my_tasks:second")
    with pytest.raises(seqcheck.InvalidArgument, match=r"^task='parityy': expected one of parity, even-pairs"):
        resolve_task("parityy")
