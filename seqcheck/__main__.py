"""``python -m seqcheck`` is the ``seqcheck`` command."""

import sys

from seqcheck.cli import main

sys.exit(main())
