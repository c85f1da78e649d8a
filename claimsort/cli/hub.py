"""claimsort hub push MODEL_DIR --repo-id USER/NAME: upload a model folder to the Hugging Face Hub."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from claimsort.cli import fail_cleanly
from claimsort.hub import push


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="claimsort hub", description="Hugging Face Hub utilities.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("push", help="upload a model folder (weights, tokenizer, card, eval reports)")
    p.add_argument("model_dir", type=Path)
    p.add_argument("--repo-id", required=True, help="USER/NAME on the Hub")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    args = parser.parse_args(argv)
    print(push(args.model_dir, args.repo_id, args.private))
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
