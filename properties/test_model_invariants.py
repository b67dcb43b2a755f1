"""The ready property suite: every invariant of the battery, on the configured models.

``pytest properties/`` checks the built-in reference models (the seed model's known violations are
strict xfails); ``pytest properties/ --seqcheck-model M.keras --seqcheck-pattern P
--seqcheck-train-length N`` checks yours, and a violation fails with its minimal counterexample.
"""

import pytest

from seqcheck.assertions import assert_holds


@pytest.mark.seqcheck
def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
