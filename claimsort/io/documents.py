"""Reading documents: every input (text, Markdown, HTML, gzipped or not; JSONL, CSV
and Parquet tables of articles or segments; standard input) as Documents, segmented
and, for HTML, featurised; bad input reported with its file and line and skipped
(or raised with strict). Also the work units a sharded run enumerates cheaply
before it reads only its own."""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from claimsort.io.errors import InputError, Issue, report
from claimsort.html.pagestructure import main_text, segment_features, text_with_elements
from claimsort.text.segmentation import segment_document
from claimsort.io.inputs import TABLE_SUFFIXES, TEXT_SUFFIXES, _paths, _suffix, document_names
from claimsort.labels import PROBA_KEYS
from claimsort.io.rows import validate_row


MAX_LINE_CHARS = 1_000_000  # a longer single line is reported and skipped (a 10 MB line is not an article)

_UNDECODABLE = re.compile("[\ud800-\udfff]")  # bytes kept by surrogateescape, or lone surrogates from JSON escapes


@dataclass
class Document:
    doc_id: str
    source: str  # the file it came from ("-" for standard input)
    segments: list[dict] = field(default_factory=list)  # rows with at least "text" and "sent_id"
    page_features: np.ndarray | None = None  # HTML pages: markup features of each segment (pagestructure)
    extra: dict = field(default_factory=dict)  # an article record's other columns, kept on each of its rows

# A work unit is one document-to-be, cheap to enumerate: a text file not yet read,
# an article record parsed but not yet segmented, the rows of a segment table's
# document. Calling it does the costly part (read, decode, segment, featurise) and
# yields its document, or nothing when it is bad (the issue is reported).
WorkUnit = Callable[[], Iterator[Document]]


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


def _decode_lenient(raw: bytes) -> str:
    """UTF-8 text of a line-oriented file; bytes that are not UTF-8 become lone
    surrogates (found again by _UNDECODABLE), so one bad line does not cost the file."""
    return raw.decode("utf-8-sig", errors="surrogateescape")


def _check_unicode(text: str, where: str) -> None:
    bad = _UNDECODABLE.search(text)
    if bad:
        raise InputError(f"{where}: not valid UTF-8 (or a lone surrogate) at character {bad.start()}")


def _check_long_lines(text: str, where: str, line_numbers: bool = True) -> None:
    """A line over MAX_LINE_CHARS is InputError: at where:line when the text's lines
    are the file's lines, else at where, with the line of the text in words."""
    for lineno, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARS:
            at = f"{where}:{lineno}: a single line" if line_numbers else \
                f"{where}: a single line (line {lineno} of its text)"
            raise InputError(f"{at} of {len(line):,} characters (limit {MAX_LINE_CHARS:,}); not an article")

_HTML_START = re.compile(r"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|div|p|article|section|main|"
                         r"h[1-6]|table|ul|span|a)\b", re.I | re.S)


def looks_like_html(text: str) -> bool:
    """Standard input has no file name: it is HTML when it starts with an HTML tag (or
    a doctype), else plain text. A text that merely mentions a tag is not HTML."""
    return bool(_HTML_START.match(text))


def _document_from_text(text: str, fmt: str, doc_id: str, source: str, line: int | None = None) -> Document:
    where = f"{source}:{line}" if line else source
    _check_unicode(text, where)
    spans = extracted = None
    if fmt == "html":  # minified HTML is one long line; its visible text must not be
        html = text
        text, spans = text_with_elements(html) if html.strip() else ("", [])
        extracted = main_text(html) if text else ""
        fmt = "text"
        _check_long_lines(text, where, line_numbers=False)
    elif line:  # a record: its lines are not lines of the file
        _check_long_lines(text, where, line_numbers=False)
    else:
        _check_long_lines(text, source)
    segments = segment_document(text, fmt)
    if not segments:
        raise InputError(f"{where}: empty document")
    return Document(doc_id, source, [{"sent_id": i, "text": s.text} for i, s in enumerate(segments)],
                    page_features=segment_features(spans, segments, extracted) if spans is not None else None)


def _iter_lines(path: str) -> Iterator[str]:
    """Lines of a (possibly gzipped) file, read one at a time so that memory does
    not grow with the file; bytes that are not UTF-8 become lone surrogates."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        for i, raw in enumerate(f):
            if i == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield raw.decode("utf-8", errors="surrogateescape").rstrip("\r\n")


def _records_from_jsonl(lines: Iterator[str], source: str, issues: list[Issue], strict: bool) -> Iterator[tuple[int, dict]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            report(InputError(f"{source}:{lineno}: a single line of {len(line):,} characters "
                               f"(limit {MAX_LINE_CHARS:,}); not an article"), issues, strict)
            continue
        if _UNDECODABLE.search(line):
            report(InputError(f"{source}:{lineno}: not valid UTF-8"), issues, strict)
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            report(InputError(f"{source}:{lineno}: bad JSON at column {e.colno} ({e.msg})"), issues, strict)
            continue
        if not isinstance(rec, dict):
            report(InputError(f"{source}:{lineno}: expected a JSON object"), issues, strict)
            continue
        yield lineno, rec


def _segment_row(rec: dict, path: str, lineno: int) -> dict:
    """A row of a segment table given to predict.py, checked (io.rows.validate_row; its
    doc_id read as text) and its text and id valid Unicode."""
    row = validate_row({**rec, "doc_id": str(rec["doc_id"])}, f"{path}:{lineno}", cells=True)
    _check_unicode(row["text"] + row["doc_id"], f"{path}:{lineno}")
    return row


def _has_text_column(columns: list[str], text_column: str) -> bool:
    return text_column in columns or any(key in columns for key in ("html", "markdown", "text"))


def _check_columns(path: str, where: str, columns: list[str], text_column: str, id_column: str | None) -> None:
    """A table's header has the text column and the --id-column asked for."""
    listed = ", ".join(columns) or "none"
    if not _has_text_column(columns, text_column):
        raise InputError(f"{where}: no text column {text_column!r} (columns: {listed})")
    if id_column and id_column not in columns:
        raise InputError(f"{where}: no id column {id_column!r} (--id-column; columns: {listed})")


def _documents_from_table(path: str, text_column: str, id_column: str | None, issues, strict) -> Iterator[Document]:
    """Article records of a .jsonl, .csv or .parquet file; a .jsonl of segment rows
    (doc_id, sent_id, text) is taken as already segmented. A bad line or row is
    reported and skipped; the rest of the file is read."""
    for unit in _table_units(path, text_column, id_column, issues, strict):
        yield from unit()


def _one(doc: Document | None) -> Iterator[Document]:
    if doc is not None:
        yield doc


def _table_units(path: str, text_column: str, id_column: str | None, issues, strict) -> Iterator[WorkUnit]:
    """The work units of a table, in order: each article record parsed but not yet
    segmented (calling the unit segments it), each document of a segment table as
    its checked rows (nothing left to do). Parsing a line or row is cheap beside
    segmenting and featurising its text, which is what a sharded run saves."""
    suffix = _suffix(path)

    def record_unit(rec: dict, lineno: int) -> WorkUnit:
        return lambda: _one(_record_document(rec, path, lineno, text_column, id_column, issues, strict))
    if suffix == ".jsonl":
        current: Document | None = None
        for lineno, rec in _records_from_jsonl(_iter_lines(path), path, issues, strict):
            if "sent_id" in rec and "doc_id" in rec and "text" in rec:  # a segment table row
                try:
                    row = _segment_row(rec, path, lineno)
                except InputError as e:
                    report(e, issues, strict)
                    continue
                if current is None or current.doc_id != str(rec["doc_id"]):
                    if current is not None:
                        yield lambda doc=current: _one(doc)
                    current = Document(str(rec["doc_id"]), path)
                current.segments.append(row)
                continue
            if current is not None:
                yield lambda doc=current: _one(doc)
                current = None
            yield record_unit(rec, lineno)
        if current is not None:
            yield lambda doc=current: _one(doc)
        return
    if suffix == ".csv":
        raw = _decode_lenient(_read_bytes(path))
        csv.field_size_limit(MAX_LINE_CHARS * 2)
        # strict: an unclosed quote is an error at the end of the data, not the rest of
        # the file read into one field
        reader = csv.DictReader(io.StringIO(raw), strict=True)
        try:
            columns = reader.fieldnames or []
        except csv.Error as e:
            raise InputError(f"{path}:1: bad CSV header ({e})") from None
        _check_columns(path, f"{path}:1", columns, text_column, id_column)
        while True:
            start = reader.reader.line_num + 1  # the line where the next record begins
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as e:  # the reader goes on with the next line
                if "unexpected end of data" in str(e):  # strict: an open quote never closed
                    report(InputError(f"{path}:{start}: unclosed quote: the field runs to the end of the file "
                                       f"({reader.reader.line_num - start + 1} lines); close it with \""),
                            issues, strict)
                    break
                report(InputError(f"{path}:{reader.reader.line_num}: bad CSV ({e})"), issues, strict)
                continue
            if None in rec:  # more fields than the header names: a stray delimiter or quote
                report(InputError(f"{path}:{start}: {len(columns) + len(rec[None])} fields, the header has "
                                   f"{len(columns)}"), issues, strict)
                continue
            yield record_unit(rec, start)
        return
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            columns = parquet.schema_arrow.names
        except Exception as e:  # pyarrow raises several types for a broken file
            raise InputError(f"{path}: not a readable Parquet file ({e})") from None
        _check_columns(path, path, columns, text_column, id_column)
        row_number = 0
        try:
            for batch in parquet.iter_batches(batch_size=1024):
                for rec in batch.to_pylist():
                    row_number += 1
                    yield record_unit(rec, row_number)
        except pa.ArrowException as e:
            raise InputError(f"{path}:{row_number + 1}: unreadable Parquet data ({e})") from None
        return

FORMATS = {"text": "text", "txt": "text", "plain": "text", "markdown": "markdown", "md": "markdown",
           "html": "html", "htm": "html"}

SOURCE_KEYS = ("source_file", "source", "path", "file", "filename", "url")  # where a record says it came from

RESERVED = {"doc_id", "id", "sent_id", "text", "label", "gold_label", "source_file", *PROBA_KEYS}


def _record_format(rec: dict, key: str, where: str) -> str:
    """The format of an article record's text: its `format` field when it has one
    ('text', 'markdown'/'md', 'html'); else what the file named by its source field
    (source_file, source, path, file, filename or url) ends in, .md/.markdown or
    .html/.htm; else the column's own ('markdown' and 'html' columns), else plain
    text. So an article converted from a .md file to a record keeps its Markdown."""
    given = rec.get("format")
    if given is not None:
        fmt = FORMATS.get(str(given).strip().lower())
        if fmt is None:
            raise InputError(f"{where}: format {given!r} is not one of text, markdown, html")
        return fmt
    if key in ("html", "markdown"):
        return key
    for source_key in SOURCE_KEYS:
        value = rec.get(source_key)
        if isinstance(value, str):
            suffix = _suffix(value.split("?")[0].split("#")[0])
            if suffix in TEXT_SUFFIXES:
                return TEXT_SUFFIXES[suffix]
    return "text"


def extra_columns(rec: dict, used: set[str]) -> dict:
    """A record's columns other than those it was read from, kept on its output rows
    (README: extra keys are kept); one that would shadow an output column is renamed
    input_<name>."""
    return {(f"input_{k}" if k in RESERVED else k): v for k, v in rec.items() if k not in used}


def _record_document(rec: dict, source: str, line: int, text_column: str, id_column: str | None,
                     issues, strict) -> Document | None:
    where = f"{source}:{line}"
    key = text_column
    text = rec.get(text_column)
    if text is None:
        for key in ("html", "markdown", "text"):
            if rec.get(key) is not None:
                text = rec[key]
                break
    if not isinstance(text, str):
        report(InputError(f"{where}: no text column {text_column!r}"), issues, strict)
        return None
    if id_column and id_column not in rec:
        report(InputError(f"{where}: no id column {id_column!r} (--id-column)"), issues, strict)
        return None
    id_key = id_column or ("doc_id" if "doc_id" in rec else "id")
    doc_id = rec.get(id_key)
    doc_id = str(doc_id) if doc_id not in (None, "") else f"{Path(source).name}:{line}"
    try:
        fmt = _record_format(rec, key, where)
        _check_unicode(doc_id, where)
        doc = _document_from_text(text, fmt, doc_id, source, line)
    except InputError as e:
        report(e, issues, strict)
        return None
    doc.extra = extra_columns(rec, {key, id_key, "format"})
    return doc


def documents_of_path(path: str, doc_id: str | None, issues: list[Issue], strict: bool = False,
                      text_column: str = "text", id_column: str | None = None) -> Iterator[Document]:
    """The documents of one input file ('-': standard input), in order; a text file's
    doc_id is `doc_id` (see document_names). Bad input goes to `issues` (or raises
    InputError with strict); the rest of the file is still read."""
    try:
        if path != "-" and not os.path.isfile(path):
            if not os.path.lexists(path):
                raise InputError(f"{path}: no such file")
            if not os.path.exists(path):
                raise InputError(f"{path}: no such file (a broken link)")
            raise InputError(f"{path}: not a regular file")
        suffix = _suffix(path)
        if path == "-":
            text = _decode(_read_bytes(path), "<stdin>")
            yield _document_from_text(text, "html" if looks_like_html(text) else "text", "stdin", "-")
        elif suffix in TABLE_SUFFIXES:
            yield from _documents_from_table(path, text_column, id_column, issues, strict)
        elif suffix in TEXT_SUFFIXES:
            raw = _read_bytes(path)
            fmt = TEXT_SUFFIXES[suffix]
            text = raw.decode("utf-8", errors="replace") if fmt == "html" else _decode(raw, path)
            yield _document_from_text(text, fmt, doc_id, path)
        else:
            raise InputError(f"{path}: unsupported file type (expected .txt, .md, .html, .htm, .jsonl, .csv, "
                             ".parquet, optionally .gz)")
    except InputError as e:
        report(e, issues, strict)
    except (OSError, EOFError, zlib.error) as e:  # OSError includes gzip.BadGzipFile
        _report_unreadable(path, e, issues, strict)


def _report_unreadable(path: str, e: Exception, issues: list[Issue], strict: bool) -> None:
    name = "zlib.error" if isinstance(e, zlib.error) else e.__class__.__name__
    report(InputError(f"{path}: unreadable ({name}: {e})"), issues, strict)


def iter_documents(inputs: list[str], issues: list[Issue], strict: bool = False, text_column: str = "text",
                   id_column: str | None = None, exclude: list[str] = ()) -> Iterator[Document]:
    """Every document of the inputs, in order; bad input goes to `issues`
    (or raises InputError with strict)."""
    paths = list(_paths(inputs, exclude, issues, strict))
    names = document_names(paths)
    for path in paths:
        yield from documents_of_path(path, names.get(path), issues, strict, text_column, id_column)


def iter_work_units(inputs: list[str], issues: list[Issue], strict: bool = False, text_column: str = "text",
                    id_column: str | None = None, exclude: list[str] = ()) -> Iterator[WorkUnit]:
    """The inputs as work units (see WorkUnit), in order: one per text file, one per
    record (or segment-table document) of a table. Calling every unit in turn gives
    exactly iter_documents' documents and issues, in the same order. Enumerating
    costs a listing for text files and a parse of each line or row for tables; the
    problems met while enumerating (no matching files, a table's bad header, line or
    row) go to `issues` at once."""
    paths = list(_paths(inputs, exclude, issues, strict))
    names = document_names(paths)
    for path in paths:
        if path == "-" or _suffix(path) not in TABLE_SUFFIXES or not os.path.isfile(path):
            yield lambda path=path: documents_of_path(path, names.get(path), issues, strict, text_column, id_column)
            continue
        try:
            yield from _table_units(path, text_column, id_column, issues, strict)
        except InputError as e:
            report(e, issues, strict)
        except (OSError, EOFError, zlib.error) as e:
            _report_unreadable(path, e, issues, strict)


def document_from_text(text: str, fmt: str, doc_id: str = "article", source: str = "-") -> Document:
    """One article (fmt 'text', 'markdown' or 'html') as a Document: its segments and,
    for HTML, their markup features."""
    return _document_from_text(text, fmt, doc_id, source)
