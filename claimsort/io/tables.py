"""The output tables: one row schema for every engine (rows_for_document), the
document summaries, and the writers (JSONL, CSV, Parquet) that merge a run's parts
in order, atomically."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from claimsort.io.documents import Document, extra_columns
from claimsort.io.errors import InputError
from claimsort.io.files import write_atomic
from claimsort.labels import LABELS, PROBA_KEYS


OUTPUT_COLUMNS = ["doc_id", "sent_id", "text", "label", *PROBA_KEYS, "source_file"]  # + gold_label if any input has one

SUMMARY_COLUMNS = ["doc_id", "source_file", "n_segments", *(f"share_{label}" for label in LABELS)]


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def output_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    formats = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if suffix not in formats:
        raise InputError(f"{path}: output must end in .jsonl, .csv or .parquet")
    return formats[suffix]


def _arrow_type(column: str):
    import pyarrow as pa

    if column in ("sent_id", "n_segments"):
        return pa.int64()
    if column.startswith(("p_", "share_")):
        return pa.float64()
    return pa.string()


def _cells(row: dict, columns: list[str]) -> dict:
    """A row for a table output: an extra input column's value that is not a string
    (a number, a list, an object from a .jsonl or .parquet input) as its JSON text."""
    own = {*OUTPUT_COLUMNS, "gold_label", *SUMMARY_COLUMNS}
    return {k: (v if v is None or isinstance(v, str) or k in own else json.dumps(v, ensure_ascii=False))
            for k, v in row.items() if k in columns}


def merge_parts(parts: list[Path], out: Path, fmt: str, columns: list[str]) -> int:
    """Concatenate the JSONL part files into the output, streaming, atomically.
    A .csv or .parquet output has exactly `columns` (empty where a row has none)."""
    counted = [0]
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c, _arrow_type(c)) for c in columns])

        def write(f):
            with pq.ParquetWriter(f, schema) as writer:
                for part in parts:
                    with part.open(encoding="utf-8") as pf:
                        rows = [_cells(json.loads(line), columns) for line in pf]
                    if rows:
                        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                        counted[0] += len(rows)
        write_atomic(out, write, binary=True)
        return counted[0]

    def write(f):
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
        for part in parts:
            with part.open(encoding="utf-8") as pf:
                for line in pf:
                    if writer is None:
                        f.write(line)
                    else:
                        writer.writerow(_cells(json.loads(line), columns))
                    counted[0] += 1
    write_atomic(out, write)
    return counted[0]


def document_summary(rows: list[dict], doc: Document) -> dict:
    counts = np.zeros(len(LABELS))
    for row in rows:
        counts[LABELS.index(row["label"])] += 1
    share = counts / max(1, counts.sum())
    return {"doc_id": doc.doc_id, "source_file": doc.source, "n_segments": len(rows),
            **{f"share_{label}": round(float(share[i]), 4) for i, label in enumerate(LABELS)}}


def rows_for_document(doc: Document, proba: np.ndarray) -> list[dict]:
    """The output rows of one document, given its segments' label probabilities (in
    order): what every engine writes (predict.py's chunks, the Ray actors)."""
    rows = []
    for seg, p in zip(doc.segments, proba, strict=True):
        row = {"doc_id": doc.doc_id, "sent_id": seg["sent_id"], "text": seg["text"],
               "label": LABELS[int(p.argmax())],
               **{name: round(float(v), 5) for name, v in zip(PROBA_KEYS, p)},
               "source_file": doc.source}
        if "label" in seg and seg["label"] is not None:
            row["gold_label"] = seg["label"]
        # the input's other columns: a segment row's own, an article record's
        row.update(extra_columns(seg, {"doc_id", "sent_id", "text", "label"}) or doc.extra)
        rows.append(row)
    return rows


def rows_for_documents(docs: list[Document], proba: np.ndarray) -> list[list[dict]]:
    """rows_for_document of each of `docs`, whose segments' probabilities are the
    consecutive rows of `proba` (classify_documents' result)."""
    out, k = [], 0
    for doc in docs:
        n = len(doc.segments)
        out.append(rows_for_document(doc, proba[k:k + n]))
        k += n
    return out
