"""The command line: `claimsort train|evaluate|predict|data|hub|page-structure ...`
(console script), each a thin argparse module of this package that calls library
code; the root train.py, evaluate.py and predict.py run the same modules.

What every entry point shares: bad input ends with one clear line, not a traceback."""
from __future__ import annotations

import importlib
import sys

from claimsort.io.errors import InputError


def fail_cleanly(main, *args) -> int:
    """Run `main`; a config or data error prints 'error: <message>' and exits 2."""
    try:
        return main(*args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:  # a dependency imported late, by a Python outside .venv
        print(f"error: {e.name} is not installed for {sys.executable}; run the command with .venv/bin/python "
              "(`make install` creates .venv)", file=sys.stderr)
        return 2


# command -> (module, what it does); each module has main(argv) -> exit status
COMMANDS = {
    "train": ("claimsort.cli.train", "train a model from a config (train.py)"),
    "evaluate": ("claimsort.cli.evaluate", "evaluate a model folder, or compare runs (evaluate.py)"),
    "predict": ("claimsort.cli.predict", "classify every segment of an article collection (predict.py)"),
    "data": ("claimsort.cli.data", "build, describe and check the corpus"),
    "hub": ("claimsort.cli.hub", "upload a model folder to the Hugging Face Hub"),
    "page-structure": ("claimsort.cli.pagestructure", "add the HTML page-structure model to a model folder"),
}


def main(argv: list[str] | None = None) -> int:
    """`claimsort COMMAND [ARGS]`: run COMMAND's main with the remaining arguments."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: claimsort COMMAND [ARGS ...]   (claimsort COMMAND --help for its options)\n\ncommands:")
        for name, (_, what) in COMMANDS.items():
            print(f"  {name:<15} {what}")
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}; one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return fail_cleanly(module.main, argv[1:])
