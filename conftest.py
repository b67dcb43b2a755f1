"""Settings shared by the project's own tests and its property suite.

- Trained reference models come from the same model cache as ``seqcheck demo``'s
  (``$SEQCHECK_CACHE_DIR``, default ``~/.cache/seqcheck``), so the README's set-up trains each
  of them once: the demo trains them, the tests reuse them.
- Hypothesis runs derandomized, without an example database, so the suite is deterministic.
"""

from hypothesis import settings

settings.register_profile("seqcheck-tests", derandomize=True, database=None, deadline=None, max_examples=50)
settings.load_profile("seqcheck-tests")
