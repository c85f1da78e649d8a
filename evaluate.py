"""Evaluate a model folder on labelled segment tables or named splits, or compare runs.

    python evaluate.py --model models/default --data test.jsonl [more.jsonl ...] --out reports/default
    python evaluate.py --model models/default --split test --out reports/default-test
    python evaluate.py --model models/default --split test --source ptc --out reports/default-ptc-test
    python evaluate.py --compare reports/a/test reports/b/test --out reports/a-vs-b

Each evaluation folder gets metrics.json (accuracy, macro/micro/weighted F1,
per-class precision/recall/F1/support, Cohen's kappa, Matthews correlation,
document-bootstrap 95% intervals, calibration), confusion-matrix and
reliability PNGs, errors.json, predictions.jsonl and report.md/report.html.
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
