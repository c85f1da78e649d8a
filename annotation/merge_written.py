"""Add newly written articles (data/written/parts/*.jsonl, one file per writer) to
the published table data/written/articles.jsonl, and apply the adjudication.

    python annotation/merge_written.py [--table data/written/articles.jsonl]
        [--parts data/written/parts] [--adjudication data/written/adjudication.tsv]

The published table is the record: its articles keep their text and their split
(splits once published never change). An article of a part that the table already
holds is skipped, so the command can be rerun; a new article is split with the
other new ones (70/15/15, by document). Labels a second reader disputed and the
adjudication changed (data/written/adjudication.tsv: doc_id, sent_id, label, the
writer's label, reason) replace the writer's label.
"""
import argparse
import json
import sys
from pathlib import Path

from claimsort.corpus import assign_splits, read_segment_table, write_segment_table
from claimsort.io.errors import InputError
from claimsort.io.rows import validate_row

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("doc_id", "sent_id", "text", "label", "outlet", "genre", "topic")


def read_parts(folder: Path, published: set[str]) -> list[list[dict]]:
    """The new articles of the parts, each in reading order (sent_id renumbered from
    0: a writer's retry may leave gaps)."""
    docs: dict[str, list[dict]] = {}
    owner: dict[str, Path] = {}
    for part in sorted(folder.glob("*.jsonl")):
        for lineno, line in enumerate(part.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{part}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not JSON ({e.msg})") from None
            row = validate_row(record, where, require_label=True)
            doc_id = row["doc_id"]
            if owner.setdefault(doc_id, part) != part:
                raise InputError(f"{where}: doc_id {doc_id} is also written in {owner[doc_id]}")
            if doc_id not in published:
                docs.setdefault(doc_id, []).append({k: row.get(k) for k in FIELDS})
    for doc in docs.values():
        doc.sort(key=lambda r: r["sent_id"])
        for i, r in enumerate(doc):
            r["sent_id"] = i
    return list(docs.values())


def read_adjudication(path: Path) -> dict[tuple[str, int], str]:
    adjudicated = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            fields = line.split("\t")
            if len(fields) != 5:
                raise InputError(f"{path}:{lineno}: {len(fields)} tab-separated fields, expected 5 "
                                 "(doc_id, sent_id, label, writer's label, reason)")
            adjudicated[(fields[0], int(fields[1]))] = fields[2]
    return adjudicated


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Add newly written articles to the published written table.")
    parser.add_argument("--table", type=Path, default=ROOT / "data/written/articles.jsonl",
                        help="the published table, rewritten in place")
    parser.add_argument("--parts", type=Path, default=ROOT / "data/written/parts",
                        help="folder of the writers' files (*.jsonl)")
    parser.add_argument("--adjudication", type=Path, default=ROOT / "data/written/adjudication.tsv",
                        help="adjudicated labels (doc_id, sent_id, label, writer's label, reason)")
    args = parser.parse_args(argv)
    rows = read_segment_table(args.table, require_label=True)
    published = {r["doc_id"] for r in rows}
    new_docs = read_parts(args.parts, published)
    splits = assign_splits([doc[0]["doc_id"] for doc in new_docs])
    for doc in new_docs:
        for r in doc:
            r["source"] = "written"
            r["split"] = splits[r["doc_id"]]
            rows.append(r)
    adjudicated = read_adjudication(args.adjudication) if args.adjudication.is_file() else {}
    for r in rows:
        r["label"] = adjudicated.get((r["doc_id"], r["sent_id"]), r["label"])
    write_segment_table(rows, args.table)
    print(f"{len(published) + len(new_docs)} articles ({len(new_docs)} new), {len(rows)} segments")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
