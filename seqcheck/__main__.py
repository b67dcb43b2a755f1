"""``python -m seqcheck`` is the ``seqcheck`` command."""

import sys

from seqcheck.integrations.cli import main

sys.exit(main())
