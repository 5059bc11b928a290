"""`python -m engine.cli`, the same as the `repricer` console script."""

import sys

from engine.cli import main

sys.exit(main())
