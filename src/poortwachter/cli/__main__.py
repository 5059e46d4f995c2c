"""``python -m poortwachter.cli``: the same as the ``poortwachter`` console script."""

import sys

from . import main

sys.exit(main())
