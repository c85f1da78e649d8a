"""The seed article of the label scheme through predict.py, as a new user runs it.

    python bench/seed_article.py [--model models/default]

The article is rebuilt from the table "The seed article, labelled" in
../shared/LABELS.md (never committed): its rows in order, one paragraph each, once
as plain text (.txt) and once as Markdown (.md: the headline as a `#` heading).
Each is run through `predict.py` as a subprocess, exactly as the README says, and
each listed segment's predicted label is compared with the label the scheme lists
for it (a row the splitter cuts into several segments must get its label on every
piece). Result: bench/results/seed_article.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import DEFAULT_MODEL, ROOT, markdown_table, resolve_model, write_result

LABELS_MD = ROOT.parent / "shared" / "LABELS.md"


def seed_rows(path: Path = LABELS_MD) -> list[tuple[str, str]]:
    """(segment, label) of the seed table, in order; "(continuation)" notes dropped."""
    table = path.read_text(encoding="utf-8").split("## The seed article, labelled")[1].split("\n## ")[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("segment", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append((cells[0], cells[1].split()[0]))
    return rows


def run_predict(model: Path, article: Path, out: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), str(article), "--model", str(model),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"predict.py failed on {article}:\n{proc.stderr[-2000:]}")
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def score(rows: list[tuple[str, str]], predicted: list[dict]) -> list[tuple[str, str, str]]:
    """(segment, listed label, predicted label(s)) for each row: the predicted
    segments are matched to rows in order by their text."""
    out, k = [], 0
    for text, label in rows:
        labels = []
        while k < len(predicted) and predicted[k]["text"] in text:
            labels.append(predicted[k]["label"])
            k += 1
        out.append((text, label, "/".join(dict.fromkeys(labels)) or "(no segment)"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if not LABELS_MD.is_file():
        raise SystemExit(f"{LABELS_MD} not found: the seed article is rebuilt from it")
    model = resolve_model(args.model)
    rows = seed_rows()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "seed.txt").write_text("\n\n".join(text for text, _ in rows) + "\n", encoding="utf-8")
        (tmp / "seed.md").write_text("\n\n".join(("# " + text) if i == 0 else text
                                                 for i, (text, _) in enumerate(rows)) + "\n", encoding="utf-8")
        results = {fmt: score(rows, run_predict(model, tmp / f"seed.{fmt}", tmp / f"{fmt}.jsonl"))
                   for fmt in ("txt", "md")}
    table_rows = []
    for i, (text, label) in enumerate(rows):
        got = {fmt: results[fmt][i][2] for fmt in results}
        table_rows.append([text[:70] + ("…" if len(text) > 70 else ""), label,
                           *(("✓ " if got[f] == label else "✗ ") + got[f] for f in ("txt", "md"))])
    right = {fmt: sum(r[1] == r[2] for r in results[fmt]) for fmt in results}
    notes = [f"Right: {right['txt']}/{len(rows)} as text, {right['md']}/{len(rows)} as Markdown "
             f"(model `{args.model}`)."]
    write_result("seed_article", "The seed article of LABELS.md through predict.py",
                 markdown_table(["segment", "listed label", "predicted (.txt)", "predicted (.md)"], table_rows),
                 notes, reproduce=f"python bench/seed_article.py --model {args.model}")
    return 0 if all(v == len(rows) for v in right.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
