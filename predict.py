"""Classify every segment of an article collection.

    python predict.py --help

A thin entry point: the command is claimsort/cli/predict.py (also `claimsort predict`),
whose docstring says what it does, in order.
"""
import sys

try:
    from claimsort.cli import fail_cleanly
    from claimsort.cli.predict import main
except ModuleNotFoundError as e:  # run by a Python outside the project's virtual environment
    print(f"error: {e.name} is not installed for {sys.executable}; run `.venv/bin/python predict.py ...` "
          "(`make install` creates .venv)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
