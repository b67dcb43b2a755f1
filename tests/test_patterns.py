from __future__ import annotations

import itertools

import pytest
from hypothesis import given

from seqcheck import InvalidArgument, Pattern, strategies


def brute_min_context(symbols):
    """Straight from docs/concepts.md: the smallest length at which every window determines its target."""
    p = len(symbols)
    s = lambda t: symbols[t % p]  # noqa: E731
    for length in itertools.count(1):
        following = {}
        for phase in range(p):
            following.setdefault(tuple(s(phase + i) for i in range(length)), set()).add(s(phase + length))
        if all(len(v) == 1 for v in following.values()):
            return length


@pytest.mark.parametrize(
    ("text", "symbols", "period", "context"),
    [("11000", (1, 1, 0, 0, 0), 5, 3), ("01", (0, 1), 2, 1), ("0,1,2,2", (0, 1, 2, 2), 4, 2), ("0 1 2 2", (0, 1, 2, 2), 4, 2)],
)
def test_parse_and_min_context(text, symbols, period, context):
    p = Pattern.parse(text)
    assert (p.symbols, p.period, p.min_context) == (symbols, period, context)
    assert not p.was_reduced


def test_reduced_to_primitive_period_and_says_so():
    p = Pattern.parse("0101")
    assert p.symbols == (0, 1) and p.was_reduced and p.given == "0101"


def test_windows_and_targets_follow_the_definitions():
    p = Pattern.parse("11000")
    assert list(p.window(1, 11)) == [1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
    assert p.target(1, 11) == 0  # s[12] = pattern[2]
    assert p.windows(4).tolist()[3] == [0, 0, 1, 1]
    assert p.targets(4).tolist() == [p.target(ph, 4) for ph in range(5)]


@given(strategies.patterns(alphabet_size=3, max_period=7))
def test_min_context_matches_its_definition(pattern):
    assert pattern.min_context == brute_min_context(pattern.symbols)


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "at least two symbols"),
        ("   ", "at least two symbols"),
        ("0000", "period of at least 2"),
        ("1,2 3", "do not mix separators"),
        ("1a0", "digits like"),
        ([], "at least two symbols"),
        ([0, -1], "non-negative"),
    ],
)
def test_bad_patterns_are_one_line_errors_naming_the_value(given, fragment):
    with pytest.raises(InvalidArgument) as info:
        Pattern.parse(given)
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith("pattern=")


def test_symbol_outside_alphabet():
    with pytest.raises(InvalidArgument, match=r"pattern='0120'.*alphabet_size=2.*pass alphabet_size=3 or fix the pattern"):
        Pattern.parse("0120", alphabet_size=2)


def test_errors_spell_options_as_the_interface_in_use_does():
    """The same mistake reads ``alphabet_size=3`` in Python and ``--alphabet-size=3`` on the command line."""
    from seqcheck.spelling import INTERFACE

    token = INTERFACE.set("cli")
    try:
        with pytest.raises(InvalidArgument) as raised:
            Pattern.parse("0120", alphabet_size=2)
    finally:
        INTERFACE.reset(token)
    assert str(raised.value) == (
        "--pattern=0120: expected symbols in {0..1} for --alphabet-size=2; pass --alphabet-size=3 or fix the pattern"
    )
