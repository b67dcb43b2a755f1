"""The model named in pytest.ini, checked against every invariant: one test each."""

import pytest

import seqcheck


@pytest.mark.seqcheck
def test_next_bit_model(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)
