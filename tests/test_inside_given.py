"""seqcheck.check inside a user's own Hypothesis test, as the README says: it runs Hypothesis itself, so the
outer test suppresses Hypothesis's nested-@given health check."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqcheck
from tests.handmade import ExactRule, StartAnchored


@settings(max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.nested_given])
@given(pattern=st.sampled_from(["11000", "01", "110"]), train_length=st.integers(4, 9))
def test_check_inside_a_given_test(pattern, train_length):
    options = dict(pattern=pattern, train_length=train_length, max_length=16, max_examples=5)
    assert seqcheck.check(ExactRule(pattern), **options).passed
    assert not seqcheck.check(StartAnchored(pattern, train_length), **options)["length_generalization"].passed
