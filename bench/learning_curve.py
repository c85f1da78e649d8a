"""Learning curve: the default model trained on 25%, 50% and 100% of the training
articles (seeded, the same share of each source), scored on the real PTC test
split and on the whole test split.

    python bench/learning_curve.py [--fractions 0.25 0.5] [--full models/default]

Each fraction below 1 is trained with `train.py --config configs/default.yaml
data.train_fraction=F` into models/learning-curve-F/ (skipped when that folder
already holds a trained model: delete it to retrain); the 100% point is the model
folder given by --full (models/default, from `make train`). Test figures are read
from each folder's eval/test/metrics.json (written by train.py). Result:
bench/results/learning_curve.md. Whether the curve still rises at 100% says
whether more annotated data would help this model.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import ROOT, markdown_table, write_result


def train(fraction: float) -> Path:
    out = ROOT / "models" / f"learning-curve-{round(fraction * 100)}"
    if not (out / "eval/test/metrics.json").is_file():
        subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", "configs/default.yaml",
                        f"data.train_fraction={fraction}", f"output_dir={out}", "training.report_to=none"],
                       cwd=ROOT, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return out


def row(label: str, folder: Path) -> list:
    metrics = json.loads((folder / "eval/test/metrics.json").read_text())
    run = json.loads((folder / "run.json").read_text())
    per_source = metrics.get("per_source", {})
    train_docs = run["data_counts"]["train"]
    ci = metrics.get("macro_f1_ci95") or [float("nan")] * 2
    return [label, sum(train_docs.values()), f"{per_source.get('ptc', {}).get('macro_f1', float('nan')):.3f}",
            f"{metrics['macro_f1']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
            *(f"{per_source[s]['macro_f1']:.3f}" if s in per_source else "—"
              for s in ("newsdiscourse", "basil", "web", "written")),
            f"{run.get('train_seconds') or float('nan'):.0f}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5])
    parser.add_argument("--full", type=Path, default=ROOT / "models/default")
    args = parser.parse_args(argv)
    rows = [row(f"{round(f * 100)}%", train(f)) for f in args.fractions]
    rows.append(row("100%", args.full))
    table = markdown_table(["training articles", "training segments", "PTC test macro-F1",
                            "whole test macro-F1 (95% CI)", "NewsDiscourse test", "BASIL test", "web test",
                            "written test", "training s"], rows)
    write_result("learning_curve", "Learning curve of the default (document) model", table,
                 ["Same config, seed and epochs at every point; only the share of training documents changes "
                  "(so the smaller runs also take fewer optimiser steps)."],
                 reproduce="python bench/learning_curve.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
