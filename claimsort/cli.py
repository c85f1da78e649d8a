"""What every entry point shares: bad input ends with one clear line, not a traceback."""
from __future__ import annotations

import sys

from claimsort.config import ConfigError
from claimsort.corpus import DataError


def fail_cleanly(main, *args) -> int:
    """Run `main`; a config or data error prints 'error: <message>' and exits 2."""
    try:
        return main(*args)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:  # a dependency imported late, by a Python outside .venv
        print(f"error: {e.name} is not installed for {sys.executable}; run the command with .venv/bin/python "
              "(`make install` creates .venv)", file=sys.stderr)
        return 2
