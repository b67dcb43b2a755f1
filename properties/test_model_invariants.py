"""The ready property suite: every invariant of the battery, on the model it is given.

``pytest properties/`` checks the built-in reference models (``properties/conftest.py`` asks for
them; the seed model's known violations are strict xfails); ``pytest properties/ --seqcheck-model
M.keras --seqcheck-pattern P --seqcheck-train-length N`` checks yours, and a violation fails with its
minimal counterexample.  The plugin marks each test ``seqcheck`` (``pytest -m seqcheck``).
"""

from seqcheck.integrations.assertions import assert_holds


def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
