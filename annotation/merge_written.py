"""Merge the written-article parts (data/written/parts/*.jsonl, one file per
writer) into data/written/articles.jsonl, with a fixed document-level split. Labels a
second reader disputed and the adjudication changed (data/written/adjudication.tsv:
doc_id, sent_id, label, the writer's label, reason) replace the writer's label.

    python annotation/merge_written.py
"""
import json
from pathlib import Path

from claimsort.corpus import assign_splits, write_segment_table
from claimsort.io.rows import validate_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("doc_id", "sent_id", "text", "label", "outlet", "genre", "topic")


def main():
    rows = []
    for part in sorted((ROOT / "data/written/parts").glob("*.jsonl")):
        docs = {}
        for lineno, line in enumerate(part.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = validate_row(json.loads(line), f"{part}:{lineno}", require_label=True)
            docs.setdefault(row["doc_id"], []).append({k: row.get(k) for k in FIELDS})
        for doc_id, doc in docs.items():
            doc.sort(key=lambda r: r["sent_id"])
            for i, r in enumerate(doc):  # renumber: a writer's retry may leave gaps
                r["sent_id"] = i
            rows.extend(doc)
    adjudicated = {}
    for line in (ROOT / "data/written/adjudication.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc_id, sent_id, label, _writer_label, _reason = line.split("\t")
            adjudicated[(doc_id, int(sent_id))] = label
    for r in rows:
        r["label"] = adjudicated.get((r["doc_id"], r["sent_id"]), r["label"])
    splits = assign_splits(sorted({r["doc_id"] for r in rows}))
    for r in rows:
        r["source"] = "written"
        r["split"] = splits[r["doc_id"]]
    write_segment_table(rows, ROOT / "data/written/articles.jsonl")
    print(f"{len({r['doc_id'] for r in rows})} articles, {len(rows)} segments")


if __name__ == "__main__":
    main()
