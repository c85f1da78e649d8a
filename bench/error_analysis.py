"""Error analysis on the dev split: confusion pairs, and their causes as a reader
judged them, for the sentence-only and the document model side by side.

    python bench/error_analysis.py --sentence reports/sentence-dev --document reports/default-dev \
        [--causes bench/error_causes.tsv]

The two folders are evaluate.py outputs on the same dev segments
(`python evaluate.py --model models/sentence --split dev --out reports/sentence-dev`).
The causes file (committed; ids and causes only, no text, no notes) holds, for each dev segment that
either model got wrong, the cause a reader gave after reading the article around
it: `doc_id<TAB>sent_id<TAB>cause`, cause one of CAUSES. Result:
bench/results/error_analysis.md: errors per confusion pair (gold -> predicted) and
per cause, before (sentence-only) and after (document model).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

from _common import ROOT, markdown_table, write_result

CAUSES = {
    "continuation": "continuation of an attributed passage (no source in the sentence itself)",
    "source_type": "who the source is: public authority or not",
    "voice": "the writer's own voice vs a neutral account",
    "furniture": "page furniture vs article text",
    "quote": "quote continuation / speaker of quoted lines",
    "other": "none of these (a plain mistake, a hard call, a splitter cut)",
}


def read_predictions(folder: Path) -> dict[tuple[str, int], tuple[str, str]]:
    out = {}
    for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        out[(p["doc_id"], int(p["sent_id"]))] = (p["label"], p["predicted"])
    return out


def read_causes(path: Path) -> dict[tuple[str, int], str]:
    causes = {}
    with path.open(encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 3 or row[2] not in CAUSES:
                raise SystemExit(f"{path}:{lineno}: expected doc_id, sent_id, cause (one of {', '.join(CAUSES)})")
            causes[(row[0], int(row[1]))] = row[2]
    return causes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentence", type=Path, required=True, help="evaluate.py folder of the sentence-only model")
    parser.add_argument("--document", type=Path, required=True, help="evaluate.py folder of the document model")
    parser.add_argument("--causes", type=Path, default=ROOT / "bench/error_causes.tsv")
    args = parser.parse_args(argv)
    runs = {"sentence-only": read_predictions(args.sentence), "document": read_predictions(args.document)}
    if set(runs["sentence-only"]) != set(runs["document"]):
        raise SystemExit("the two evaluation folders hold different segments: evaluate both on the same split")
    causes = read_causes(args.causes)
    errors = {name: {k: v for k, v in preds.items() if v[0] != v[1]} for name, preds in runs.items()}
    missing = [k for e in errors.values() for k in e if k not in causes]
    if missing:
        raise SystemExit(f"{len(missing)} errors have no cause in {args.causes} (e.g. {missing[0]})")
    n = len(runs["document"])
    pair_rows = []
    for gold, pred in sorted({v for e in errors.values() for v in e.values()}):
        row = [f"{gold} -> {pred}"]
        for name in runs:
            sel = [k for k, v in errors[name].items() if v == (gold, pred)]
            by_cause = Counter(causes[k] for k in sel)
            row.append(f"{len(sel)}" + (" (" + ", ".join(f"{c} {m}" for c, m in by_cause.most_common()) + ")"
                                        if sel else ""))
        pair_rows.append(row)
    cause_rows = []
    for cause, text in CAUSES.items():
        before = sum(causes[k] == cause for k in errors["sentence-only"])
        after = sum(causes[k] == cause for k in errors["document"])
        cause_rows.append([cause, text, before, after, f"{after - before:+d}"])
    cause_rows.append(["all", "", len(errors["sentence-only"]), len(errors["document"]),
                       f"{len(errors['document']) - len(errors['sentence-only']):+d}"])
    table = (markdown_table(["cause", "what", "errors before (sentence-only)", "errors after (document)", "change"],
                            cause_rows) + "\n\n"
             + markdown_table(["gold -> predicted", "sentence-only (by cause)", "document (by cause)"], pair_rows))
    notes = [f"{n:,} dev segments. Causes: a reader read each article and gave each error of either model one "
             f"cause ({args.causes.relative_to(ROOT) if args.causes.is_relative_to(ROOT) else args.causes}); "
             "the causes are the reader's judgement of why a segment is hard, not labels."]
    write_result("error_analysis", "Error analysis on the dev split (by cause)", table, notes,
                 reproduce=f"python bench/error_analysis.py --sentence {args.sentence} --document {args.document}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
