"""The model named in pytest.ini, checked against every invariant: one test each.

The path in pytest.ini is read from pytest.ini's folder, so the suite runs from any folder; the
plugin marks each test ``seqcheck`` (``pytest -m seqcheck`` selects them with the battery below).
"""

import seqcheck


def test_next_bit_model(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)
