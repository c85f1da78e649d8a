"""Train a claimsort model from one config.

    python train.py --config configs/default.yaml [key=value ...] [--resume]

In order: read the config (composed from configs/, overridden by key=value with
dotted keys) and log it; build the corpus from every source whose text is
present; train; save the model folder (models/<name>/ unless output_dir is set)
with its run record; evaluate it on the configured splits; write its model card.
Works unchanged under torchrun and accelerate launch: only the main process
writes.
"""
import sys

try:
    from claimsort.cli import fail_cleanly
    from claimsort.cli.train import main
except ModuleNotFoundError as e:  # run by a Python outside the project's virtual environment
    print(f"error: {e.name} is not installed for {sys.executable}; run `.venv/bin/python train.py ...` or `make train` "
          "(`make install` creates .venv)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
