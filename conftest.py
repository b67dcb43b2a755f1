"""Settings shared by the project's own tests and its property suite.

- Trained reference models go to ``.seqcheck/cache`` in the checkout (gitignored) unless
  ``SEQCHECK_CACHE_DIR`` says otherwise, so a CI run trains each model once and a developer's
  machine keeps them between runs.
- Hypothesis runs derandomized, without an example database, so the suite is deterministic.
"""

import os
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("SEQCHECK_CACHE_DIR", str(Path(__file__).parent / ".seqcheck" / "cache"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

settings.register_profile("seqcheck-tests", derandomize=True, database=None, deadline=None, max_examples=50)
settings.load_profile("seqcheck-tests")
