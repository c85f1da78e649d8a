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
import argparse
import logging
import sys
from pathlib import Path

from claimsort.cli import fail_cleanly


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a claimsort model, or compare evaluated runs.")
    parser.add_argument("--model", type=Path, help="model folder (transformer or tfidf)")
    parser.add_argument("--data", nargs="+", type=Path, default=[], help="labelled segment tables (JSONL)")
    parser.add_argument("--split", nargs="+", default=[],
                        help="named splits of the corpus (train/dev/test), built with the model's own data config")
    parser.add_argument("--source", nargs="+", default=[],
                        help="with --split: only the segments of these sources (ptc, web, written, newsdiscourse, basil)")
    parser.add_argument("--compare", nargs="+", type=Path, help="evaluation folders to compare side by side")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--fast", choices=["none", "int8"], default="none",
                        help="evaluate predict.py's CPU fast path (int8 weights; see predict.py --help)")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                        help="transformer runtime (predict.py uses onnx on the CPU)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (documents)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from claimsort.evaluation.reports import compare_runs, evaluate_rows

    if args.compare:
        print(compare_runs(args.compare, args.out, args.bootstrap, args.seed))
        return 0
    if not args.model or not (args.data or args.split):
        parser.error("--model and at least one --data or --split are needed (or --compare)")

    from claimsort.io.errors import InputError
    from claimsort.corpus import read_segment_table
    from claimsort.modeling.loading import load_classifier

    # Every table is read and checked before the model is loaded or a report folder
    # made: a bad or empty table leaves nothing behind.
    tables = {}
    for path in args.data:
        tables[path.stem] = read_segment_table(path, require_label=True)
        if not tables[path.stem]:
            raise InputError(f"{path}: no segments; nothing to evaluate")
    if args.split:
        from claimsort.config import load_config
        from claimsort.corpus import build_corpus, split_rows

        cfg = load_config(args.model / "config.yaml", check_paths=False)
        splits = split_rows(build_corpus(cfg.data.corpus_paths(), announce=lambda line: print(line, file=sys.stderr)))
        for name in args.split:
            if name not in splits:
                parser.error(f"unknown split {name!r}")
            rows = splits[name]
            if args.source:
                rows = [r for r in rows if r.get("source") in args.source]
            if not rows:
                raise InputError(f"split {name!r} has no segments"
                                + (f" of source(s) {', '.join(args.source)}" if args.source else "")
                                + " in the corpus this model's config builds")
            tables[name] = rows
    classifier = load_classifier(args.model, fast=args.fast, backend=args.backend)
    for name, rows in tables.items():
        out = args.out if len(tables) == 1 else args.out / name
        m = evaluate_rows(classifier, rows, out, title=f"{args.model.name} on {name}", seed=args.seed,
                          n_resamples=args.bootstrap)
        ci = m["macro_f1_ci95"]
        print(f"{name}: macro-F1 {m['macro_f1']:.4f} [{ci[0]:.3f}, {ci[1]:.3f}]  accuracy {m['accuracy']:.4f}  -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
