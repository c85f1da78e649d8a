"""The segment row: the one exchange format of claimsort (JSONL or CSV or Parquet
rows of doc_id, sent_id, text and, when labelled, label), and its one validator,
used by every reader of segment tables (the corpus, predict.py, annotation)."""
from __future__ import annotations

from claimsort.io.errors import InputError
from claimsort.labels import LABELS


REQUIRED_FIELDS = ("doc_id", "sent_id", "text")


# --------------------------------------------------------------------------- #
# Segment tables
# --------------------------------------------------------------------------- #


def validate_row(row: object, where: str, require_label: bool = False, cells: bool = False) -> dict:
    """One segment row checked (`where` is "file:line" for the message): an object
    with a non-empty string doc_id, an integer sent_id (or its digits, from a CSV
    cell when `cells`: a CSV or Parquet table's text cells), a non-empty text, and a
    label, when present (or required), of the scheme. Returns the row, its sent_id
    an int."""
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for field in REQUIRED_FIELDS:
        if field not in row:
            raise InputError(f"{where}: missing field {field!r}")
    if not isinstance(row["doc_id"], str) or not row["doc_id"]:
        raise InputError(f"{where}: 'doc_id' must be a non-empty string, got {row['doc_id']!r}")
    sent_id = row["sent_id"]
    if cells and isinstance(sent_id, str) and sent_id.strip().isdigit():
        row = {**row, "sent_id": int(sent_id)}
    elif isinstance(sent_id, bool) or not isinstance(sent_id, int):
        raise InputError(f"{where}: 'sent_id' must be an integer, got {row['sent_id']!r}")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise InputError(f"{where}: empty text")
    label = row.get("label")
    if label is None:
        if require_label:
            raise InputError(f"{where}: missing field 'label'")
    elif label not in LABELS:
        raise InputError(f"{where}: unknown label {label!r} (expected one of {', '.join(LABELS)})")
    return row
