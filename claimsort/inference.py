"""Batch inference over article collections: read, segment, classify, write, in
chunks of documents, so memory stays flat however large the input.

Resumable and atomic: each chunk of documents becomes one part file in
``<out>.parts/``, written to a temporary name and renamed when complete. A
restarted run with the same arguments skips the chunks whose part exists, and
the parts are merged, in input order, into the output at the end (again via a
temporary name). With several processes (``accelerate launch predict.py``),
process r classifies chunks r, r+n, r+2n ... and the main process merges.
"""
from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from claimsort.labels import LABELS
from claimsort.segmentation import segment_document

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
TABLE_SUFFIXES = {".jsonl", ".csv", ".parquet"}
MAX_LINE_CHARS = 1_000_000  # a longer single line is reported and skipped (a 10 MB line is not an article)
PROBA_KEYS = [f"p_{label}" for label in LABELS]


class InputError(ValueError):
    """Bad input, with its file and line; fatal only with --strict."""


@dataclass
class Document:
    doc_id: str
    source: str  # the file it came from ("-" for standard input)
    segments: list[dict] = field(default_factory=list)  # rows with at least "text" and "sent_id"


@dataclass
class Issue:
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}" if self.line else f"{self.source}: {self.message}"


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #
def _suffix(path: str) -> str:
    p = path[:-3] if path.endswith(".gz") else path
    return Path(p).suffix.lower()


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (recursively) and globs, in a stable order; '-' is standard input."""
    out: list[str] = []
    for item in inputs:
        if item == "-":
            out.append("-")
        elif os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                for name in sorted(files):
                    if _suffix(name) in TEXT_SUFFIXES or _suffix(name) in TABLE_SUFFIXES:
                        out.append(os.path.join(root, name))
        elif any(ch in item for ch in "*?["):
            matches = sorted(glob.glob(item, recursive=True))
            out.extend(m for m in matches if os.path.isfile(m))
        else:
            out.append(item)
    return out


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    raw = Path(path).read_bytes()
    return gzip.decompress(raw) if path.endswith(".gz") else raw


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not valid UTF-8 (byte {e.start})") from None


def _check_long_lines(text: str, source: str) -> None:
    start = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARS:
            raise InputError(f"{source}:{lineno}: a single line of {len(line):,} characters "
                             f"(limit {MAX_LINE_CHARS:,}); not an article")
        start += len(line) + 1


def _document_from_text(text: str, fmt: str, doc_id: str, source: str, line: int | None = None) -> Document:
    if fmt != "html":
        _check_long_lines(text, source)
    segments = segment_document(text, fmt)
    if not segments:
        where = f"{source}:{line}" if line else source
        raise InputError(f"{where}: empty document")
    return Document(doc_id, source, [{"sent_id": i, "text": s.text} for i, s in enumerate(segments)])


def _records_from_jsonl(text: str, source: str, issues: list[Issue], strict: bool) -> Iterator[tuple[int, dict]]:
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            _report(InputError(f"{source}:{lineno}: a single line of {len(line):,} characters; skipped"), issues, strict)
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            _report(InputError(f"{source}:{lineno}: bad JSON ({e.msg} at column {e.colno})"), issues, strict)
            continue
        if not isinstance(rec, dict):
            _report(InputError(f"{source}:{lineno}: expected a JSON object"), issues, strict)
            continue
        yield lineno, rec


def _report(error: InputError, issues: list[Issue], strict: bool) -> None:
    if strict:
        raise error
    text = str(error)
    source, _, rest = text.partition(": ")
    src, _, line = source.rpartition(":")
    if line.isdigit():
        issues.append(Issue(src, int(line), rest))
    else:
        issues.append(Issue(source, None, rest))


def _documents_from_table(path: str, text_column: str, id_column: str | None, issues, strict) -> Iterator[Document]:
    """Article records of a .jsonl, .csv or .parquet file; a .jsonl of segment rows
    (doc_id, sent_id, text) is taken as already segmented."""
    suffix = _suffix(path)
    if suffix == ".jsonl":
        text = _decode(_read_bytes(path), path)
        current: Document | None = None
        for lineno, rec in _records_from_jsonl(text, path, issues, strict):
            if "sent_id" in rec and "doc_id" in rec and "text" in rec:  # a segment table row
                if not isinstance(rec["text"], str) or not rec["text"].strip():
                    _report(InputError(f"{path}:{lineno}: empty text"), issues, strict)
                    continue
                if current is None or current.doc_id != str(rec["doc_id"]):
                    if current is not None:
                        yield current
                    current = Document(str(rec["doc_id"]), path)
                current.segments.append(rec)
                continue
            if current is not None:
                yield current
                current = None
            doc = _record_document(rec, path, lineno, text_column, id_column, issues, strict)
            if doc:
                yield doc
        if current is not None:
            yield current
        return
    if suffix == ".csv":
        raw = _decode(_read_bytes(path), path)
        csv.field_size_limit(MAX_LINE_CHARS * 2)
        try:
            reader = csv.DictReader(io.StringIO(raw))
            for i, rec in enumerate(reader, 2):
                doc = _record_document(rec, path, reader.line_num or i, text_column, id_column, issues, strict)
                if doc:
                    yield doc
        except csv.Error as e:
            _report(InputError(f"{path}:{reader.line_num}: bad CSV ({e})"), issues, strict)
        return
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for a broken file
            raise InputError(f"{path}: not a readable Parquet file ({e})") from None
        row_number = 0
        for batch in parquet.iter_batches(batch_size=1024):
            for rec in batch.to_pylist():
                row_number += 1
                doc = _record_document(rec, path, row_number, text_column, id_column, issues, strict)
                if doc:
                    yield doc
        return


def _record_document(rec: dict, source: str, line: int, text_column: str, id_column: str | None,
                     issues, strict) -> Document | None:
    fmt = "text"
    text = rec.get(text_column)
    if text is None:
        for key, key_fmt in (("html", "html"), ("markdown", "markdown"), ("text", "text")):
            if rec.get(key) is not None:
                text, fmt = rec[key], key_fmt
                break
    if not isinstance(text, str):
        _report(InputError(f"{source}:{line}: no text column {text_column!r}"), issues, strict)
        return None
    doc_id = rec.get(id_column) if id_column else rec.get("doc_id", rec.get("id"))
    doc_id = str(doc_id) if doc_id not in (None, "") else f"{Path(source).name}:{line}"
    try:
        return _document_from_text(text, fmt, doc_id, source, line)
    except InputError as e:
        _report(e, issues, strict)
        return None


def iter_documents(inputs: list[str], issues: list[Issue], strict: bool = False, text_column: str = "text",
                   id_column: str | None = None) -> Iterator[Document]:
    """Every document of the inputs, in order; bad input goes to `issues`
    (or raises InputError with strict)."""
    for path in expand_inputs(inputs):
        try:
            if path != "-" and not os.path.isfile(path):
                raise InputError(f"{path}: no such file")
            suffix = _suffix(path)
            if path == "-":
                text = _decode(_read_bytes(path), "<stdin>")
                yield _document_from_text(text, "text", "stdin", "-")
            elif suffix in TABLE_SUFFIXES:
                yield from _documents_from_table(path, text_column, id_column, issues, strict)
            elif suffix in TEXT_SUFFIXES:
                raw = _read_bytes(path)
                fmt = TEXT_SUFFIXES[suffix]
                text = raw.decode("utf-8", errors="replace") if fmt == "html" else _decode(raw, path)
                yield _document_from_text(text, fmt, Path(path[:-3] if path.endswith(".gz") else path).stem, path)
            else:
                raise InputError(f"{path}: unsupported file type (expected .txt, .md, .html, .htm, .jsonl, .csv, "
                                 ".parquet, optionally .gz)")
        except InputError as e:
            _report(e, issues, strict)
        except (OSError, gzip.BadGzipFile, EOFError) as e:
            _report(InputError(f"{path}: unreadable ({e.__class__.__name__}: {e})"), issues, strict)


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #
def output_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    formats = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if suffix not in formats:
        raise InputError(f"{path}: output must end in .jsonl, .csv or .parquet")
    return formats[suffix]


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def merge_parts(parts: list[Path], out: Path, fmt: str) -> int:
    """Concatenate the JSONL part files into the output, streaming, atomically."""
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        for part in parts:
            rows = [json.loads(line) for line in part.open(encoding="utf-8")]
            if not rows:
                continue
            table = pa.Table.from_pylist(rows)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
            n += len(rows)
        if writer is None:
            pq.write_table(pa.Table.from_pylist([]), tmp)
        else:
            writer.close()
        os.replace(tmp, out)
        return n
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = None
        for part in parts:
            with part.open(encoding="utf-8") as pf:
                for line in pf:
                    if fmt == "jsonl":
                        f.write(line)
                    else:
                        row = json.loads(line)
                        if writer is None:
                            writer = csv.DictWriter(f, fieldnames=list(row))
                            writer.writeheader()
                        writer.writerow(row)
                    n += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    return n


def document_summary(rows: list[dict], doc: Document) -> dict:
    counts = np.zeros(len(LABELS))
    for row in rows:
        counts[LABELS.index(row["label"])] += 1
    share = counts / max(1, counts.sum())
    return {"doc_id": doc.doc_id, "source_file": doc.source, "n_segments": len(rows),
            **{f"share_{label}": round(float(share[i]), 4) for i, label in enumerate(LABELS)}}


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #
@dataclass
class PredictStats:
    documents: int = 0
    segments: int = 0
    skipped_chunks: int = 0
    issues: list[Issue] = field(default_factory=list)
    seconds: float = 0.0


def _run_key(args_key: dict) -> str:
    return hashlib.sha256(json.dumps(args_key, sort_keys=True).encode()).hexdigest()[:16]


def predict(inputs: list[str], classifier, out: str, *, chunk_docs: int = 64, batch_size: int = 64,
            summary: str | None = None, html_dir: str | None = None, strict: bool = False,
            text_column: str = "text", id_column: str | None = None, progress: bool = True,
            rank: int = 0, world_size: int = 1, barrier=lambda: None, run_key: dict | None = None) -> PredictStats:
    """Classify every segment of the inputs and write the output file(s)."""
    from tqdm import tqdm

    out_path = Path(out)
    fmt = output_format(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    parts_dir = out_path.with_name(out_path.name + ".parts")
    parts_dir.mkdir(exist_ok=True)
    key = _run_key({"inputs": inputs, **(run_key or {})})
    key_file = parts_dir / "RUN"
    if rank == 0:
        if key_file.exists() and key_file.read_text() != key:
            raise InputError(f"{parts_dir}: left by a run with other arguments; delete it to start afresh")
        key_file.write_text(key)
    barrier()
    if html_dir:
        Path(html_dir).mkdir(parents=True, exist_ok=True)

    stats = PredictStats()
    start = time.perf_counter()
    issues: list[Issue] = []
    bar = tqdm(desc="predict", unit="doc", disable=not progress or rank != 0, dynamic_ncols=True)

    def chunks() -> Iterator[tuple[int, list[Document], list[Issue]]]:
        chunk: list[Document] = []
        index = 0
        for doc in iter_documents(inputs, issues, strict, text_column, id_column):
            chunk.append(doc)
            if len(chunk) == chunk_docs:
                yield index, chunk, issues[:]
                issues.clear()
                chunk, index = [], index + 1
        if chunk or issues:
            yield index, chunk, issues[:]
            issues.clear()

    n_chunks = 0
    for index, docs, chunk_issues in chunks():
        n_chunks = index + 1
        part = parts_dir / f"part-{index:06d}.jsonl"
        meta = parts_dir / f"part-{index:06d}.json"
        if index % world_size != rank:
            continue
        if part.exists() and meta.exists():
            stats.skipped_chunks += 1
            done = json.loads(meta.read_text())
            stats.issues.extend(Issue(**i) for i in done["issues"])
            stats.documents += done["documents"]
            stats.segments += done["segments"]
            bar.update(done["documents"])
            continue
        proba = classifier.predict_proba([d.segments for d in docs], batch_size=batch_size) if docs else None
        rows_by_doc = []
        k = 0
        for doc in docs:
            rows = []
            for seg in doc.segments:
                p = proba[k]
                k += 1
                row = {"doc_id": doc.doc_id, "sent_id": seg["sent_id"], "text": seg["text"],
                       "label": LABELS[int(p.argmax())],
                       **{name: round(float(v), 5) for name, v in zip(PROBA_KEYS, p)},
                       "source_file": doc.source}
                if "label" in seg and seg["label"] is not None:
                    row["gold_label"] = seg["label"]
                rows.append(row)
            rows_by_doc.append(rows)
        _write_atomic(part, lambda f: f.writelines(json.dumps(r, ensure_ascii=False) + "\n"
                                                   for rows in rows_by_doc for r in rows))
        if summary:
            _write_atomic(parts_dir / f"summary-{index:06d}.jsonl", lambda f: f.writelines(
                json.dumps(document_summary(rows, doc), ensure_ascii=False) + "\n" for rows, doc in zip(rows_by_doc, docs)))
        if html_dir:
            from claimsort.rendering import write_document_page

            for rows, doc in zip(rows_by_doc, docs):
                write_document_page(rows, doc, Path(html_dir))
        n_segments = sum(len(r) for r in rows_by_doc)
        # The meta file is written last: a part counts as done only once it exists.
        _write_atomic(meta, lambda f: json.dump({"documents": len(docs), "segments": n_segments,
                                                 "issues": [i.__dict__ for i in chunk_issues]}, f))
        stats.documents += len(docs)
        stats.segments += n_segments
        stats.issues.extend(chunk_issues)
        bar.update(len(docs))
        elapsed = time.perf_counter() - start
        bar.set_postfix(segments_per_s=f"{stats.segments / elapsed:.0f}", docs_per_s=f"{stats.documents / elapsed:.1f}")
    bar.close()
    barrier()
    if rank == 0:
        parts = sorted(parts_dir.glob("part-*.jsonl"))
        merge_parts(parts, out_path, fmt)
        if summary:
            merge_parts(sorted(parts_dir.glob("summary-*.jsonl")), Path(summary), output_format(summary))
        if world_size > 1:  # the other processes' counts are in their meta files
            stats.documents = stats.segments = 0
            stats.issues = []
            for meta in sorted(parts_dir.glob("part-*.json")):
                done = json.loads(meta.read_text())
                stats.documents += done["documents"]
                stats.segments += done["segments"]
                stats.issues.extend(Issue(**i) for i in done["issues"])
        for f in parts_dir.iterdir():
            f.unlink()
        parts_dir.rmdir()
    stats.seconds = time.perf_counter() - start
    return stats
