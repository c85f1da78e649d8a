"""python -m claimsort COMMAND ...: the same as the `claimsort` console script."""
import sys

from claimsort.cli import main

sys.exit(main())
