"""``python -m mreg.cli``: the same as the ``mreg`` command."""

import sys

from mreg.cli import main

sys.exit(main())
