"""``python -m stabcheck`` runs the command line."""

import sys

from stabcheck.cli import main

sys.exit(main())
