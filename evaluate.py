"""Evaluate a model folder on labelled segment tables or named splits, or compare runs.

    python evaluate.py --help

A thin entry point: the command is claimsort/cli/evaluate.py (also `claimsort evaluate`),
whose docstring says what it does, in order.
"""
import sys

try:
    from claimsort.cli import fail_cleanly
    from claimsort.cli.evaluate import main
except ModuleNotFoundError as e:  # run by a Python outside the project's virtual environment
    print(f"error: {e.name} is not installed for {sys.executable}; run `.venv/bin/python evaluate.py ...` "
          "(`make install` creates .venv)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
