"""`python -m bot` runs the same CLI as the `crimebot` script."""

import sys

from bot.cli import main

sys.exit(main())
