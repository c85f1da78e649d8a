"""Batch inference over article collections: read, segment, classify, write, in
chunks of documents, so memory stays flat however large the input.

Resumable and atomic: each chunk of documents becomes one part file in
``<out>.parts/``, written to a temporary name and renamed when complete, and
then a meta file beside it, which alone marks the chunk done. A restarted run
with the same arguments skips the chunks whose part and meta file exist (a part
without its meta file, or a stray ``*.tmp``, is redone), and this run's parts are
merged, in input order, into the output at the end (again via a temporary name).
With several processes (``accelerate launch predict.py``), a chunk is
chunk_docs work units (text files, table records: cheap to enumerate, so every
process lists them all), and process r reads, segments and classifies only chunks
r, r+n, r+2n ...; the main process merges. The chunks are the same whatever the
number of processes, so the merged output is that of a single process.

The run's own output, parts folder, summary and HTML pages are never read as
input, should they lie inside an input folder.
"""
from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from claimsort.labels import LABELS
from claimsort.pagestructure import combine, main_text, segment_features, text_with_elements
from claimsort.segmentation import segment_document

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
TABLE_SUFFIXES = {".jsonl", ".csv", ".parquet"}
MAX_LINE_CHARS = 1_000_000  # a longer single line is reported and skipped (a 10 MB line is not an article)
PROBA_KEYS = [f"p_{label}" for label in LABELS]
OUTPUT_COLUMNS = ["doc_id", "sent_id", "text", "label", *PROBA_KEYS, "source_file"]  # + gold_label if any input has one
SUMMARY_COLUMNS = ["doc_id", "source_file", "n_segments", *(f"share_{label}" for label in LABELS)]
_UNDECODABLE = re.compile("[\ud800-\udfff]")  # bytes kept by surrogateescape, or lone surrogates from JSON escapes


class InputError(ValueError):
    """Bad input, with its file and line; fatal only with --strict."""


@dataclass
class Document:
    doc_id: str
    source: str  # the file it came from ("-" for standard input)
    segments: list[dict] = field(default_factory=list)  # rows with at least "text" and "sent_id"
    page_features: np.ndarray | None = None  # HTML pages: markup features of each segment (pagestructure)
    extra: dict = field(default_factory=dict)  # an article record's other columns, kept on each of its rows


@dataclass
class Issue:
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}" if self.line else f"{self.source}: {self.message}"


# A work unit is one document-to-be, cheap to enumerate: a text file not yet read,
# an article record parsed but not yet segmented, the rows of a segment table's
# document. Calling it does the costly part (read, decode, segment, featurise) and
# yields its document, or nothing when it is bad (the issue is reported).
WorkUnit = Callable[[], Iterator[Document]]


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #
def _suffix(path: str) -> str:
    p = path[:-3] if path.endswith(".gz") else path
    return Path(p).suffix.lower()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _glob_root(pattern: str) -> str:
    """The folder a glob searches: its leading components without wildcards."""
    parts = []
    for part in Path(pattern).parts:
        if _is_pattern(part):
            break
        parts.append(part)
    return os.path.join(*parts) if parts else "."


def _is_pattern(item: str) -> bool:
    return any(ch in item for ch in "*?[")


def _expand_one(item: str, exclude: list[str]) -> list[str]:
    """The files of one input argument (see expand_inputs)."""
    if item == "-":
        return ["-"]
    is_dir = os.path.isdir(item)
    if not is_dir and not _is_pattern(item):
        return [item]
    root = os.path.realpath(item if is_dir else _glob_root(item))
    skip = [e for e in (os.path.realpath(x) for x in exclude) if not _inside(root, e)]

    def kept(path: str) -> bool:
        real = os.path.realpath(path)
        return not any(_inside(real, e) for e in skip)

    if not is_dir:
        return [m for m in sorted(glob.glob(item, recursive=True)) if os.path.isfile(m) and kept(m)]
    found = []
    for folder, dirs, files in os.walk(item):
        dirs[:] = sorted(d for d in dirs if kept(os.path.join(folder, d)))
        found.extend(os.path.join(folder, name) for name in sorted(files)
                     if (_suffix(name) in TEXT_SUFFIXES or _suffix(name) in TABLE_SUFFIXES)
                     and kept(os.path.join(folder, name)))
    return found


def expand_inputs(inputs: list[str], exclude: list[str] = ()) -> list[str]:
    """Files, folders (recursively) and globs, in a stable order; '-' is standard input.

    Folder walks and globs pass by the paths in `exclude` (the run's own output,
    parts folder, summary and HTML pages, should they lie inside an input folder;
    one that is the input folder itself, or holds it, is not passed by)."""
    return [path for item in inputs for path in _expand_one(item, exclude)]


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
            _report(InputError(f"{source}:{lineno}: a single line of {len(line):,} characters "
                               f"(limit {MAX_LINE_CHARS:,}); not an article"), issues, strict)
            continue
        if _UNDECODABLE.search(line):
            _report(InputError(f"{source}:{lineno}: not valid UTF-8"), issues, strict)
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            _report(InputError(f"{source}:{lineno}: bad JSON at column {e.colno} ({e.msg})"), issues, strict)
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


def _segment_row(rec: dict, path: str, lineno: int) -> dict:
    """A row of a segment table, checked: non-empty text, an integer sent_id."""
    text = rec["text"]
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{path}:{lineno}: empty text")
    _check_unicode(text + str(rec["doc_id"]), f"{path}:{lineno}")
    sent_id = rec["sent_id"]
    if isinstance(sent_id, str) and sent_id.strip().isdigit():
        sent_id = int(sent_id)
    if not isinstance(sent_id, int) or isinstance(sent_id, bool):
        raise InputError(f"{path}:{lineno}: sent_id must be an integer, not {rec['sent_id']!r}")
    row = {**rec, "sent_id": sent_id}
    if row.get("label") is not None:
        row["label"] = str(row["label"])
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
                    _report(e, issues, strict)
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
                    _report(InputError(f"{path}:{start}: unclosed quote: the field runs to the end of the file "
                                       f"({reader.reader.line_num - start + 1} lines); close it with \""),
                            issues, strict)
                    break
                _report(InputError(f"{path}:{reader.reader.line_num}: bad CSV ({e})"), issues, strict)
                continue
            if None in rec:  # more fields than the header names: a stray delimiter or quote
                _report(InputError(f"{path}:{start}: {len(columns) + len(rec[None])} fields, the header has "
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
        _report(InputError(f"{where}: no text column {text_column!r}"), issues, strict)
        return None
    if id_column and id_column not in rec:
        _report(InputError(f"{where}: no id column {id_column!r} (--id-column)"), issues, strict)
        return None
    id_key = id_column or ("doc_id" if "doc_id" in rec else "id")
    doc_id = rec.get(id_key)
    doc_id = str(doc_id) if doc_id not in (None, "") else f"{Path(source).name}:{line}"
    try:
        fmt = _record_format(rec, key, where)
        _check_unicode(doc_id, where)
        doc = _document_from_text(text, fmt, doc_id, source, line)
    except InputError as e:
        _report(e, issues, strict)
        return None
    doc.extra = extra_columns(rec, {key, id_key, "format"})
    return doc


def _paths(inputs: list[str], exclude: list[str], issues: list[Issue], strict: bool) -> Iterator[str]:
    """expand_inputs, one argument at a time; a folder or glob with no input file is reported."""
    for item in inputs:
        found = _expand_one(item, exclude)
        if not found:
            detail = " (a folder without .txt, .md, .html, .htm, .jsonl, .csv or .parquet files)" \
                if os.path.isdir(item) else ""
            _report(InputError(f"{item}: no matching files{detail}"), issues, strict)
        yield from found


def document_names(paths: list[str]) -> dict[str, str]:
    """The doc_id of each text file (.txt, .md, .html ...): its name without the
    suffix, unless another input file has the same one (x/report.md, y/report.md,
    y/report.txt): then its path relative to the folder all the inputs share
    (x/report.md ...), so that no two documents get the same doc_id."""
    files = [p for p in dict.fromkeys(paths) if p != "-" and _suffix(p) in TEXT_SUFFIXES]
    stems = {p: Path(p[:-3] if p.endswith(".gz") else p).stem for p in files}
    count: dict[str, int] = {}
    for stem in stems.values():
        count[stem] = count.get(stem, 0) + 1
    clashing = [p for p in files if count[stems[p]] > 1]
    if not clashing:
        return stems
    absolute = {p: os.path.abspath(p) for p in clashing}
    root = os.path.commonpath(list(absolute.values()))
    return {**stems, **{p: os.path.relpath(absolute[p], root).replace(os.sep, "/") for p in clashing}}


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
        _report(e, issues, strict)
    except (OSError, EOFError, zlib.error) as e:  # OSError includes gzip.BadGzipFile
        _report_unreadable(path, e, issues, strict)


def _report_unreadable(path: str, e: Exception, issues: list[Issue], strict: bool) -> None:
    name = "zlib.error" if isinstance(e, zlib.error) else e.__class__.__name__
    _report(InputError(f"{path}: unreadable ({name}: {e})"), issues, strict)


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
            _report(e, issues, strict)
        except (OSError, EOFError, zlib.error) as e:
            _report_unreadable(path, e, issues, strict)


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
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c, _arrow_type(c)) for c in columns])
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:
                with part.open(encoding="utf-8") as pf:
                    rows = [_cells(json.loads(line), columns) for line in pf]
                if rows:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    n += len(rows)
        os.replace(tmp, out)
        return n
    with open(tmp, "w", encoding="utf-8", newline="") as f:
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


def input_identity(paths: list[str]) -> list[list]:
    """(path, size, mtime in ns) of every input file: what a resumed run must find
    unchanged (standard input has none: it cannot be checked)."""
    out = []
    for path in dict.fromkeys(paths):
        if path == "-":
            continue
        try:
            st = os.stat(path)
            out.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([path, None, None])
    return out


def check_outputs(out: str, summary: str | None = None, html_dir: str | None = None, overwrite: bool = False) -> None:
    """Nothing finished is replaced without overwrite: an existing output or summary,
    or a --html folder holding pages of another run, is an InputError (an interrupted
    run, whose parts folder exists, resumes instead). A --html path that is a file is
    an error either way. predict.py calls this before loading the model."""
    resuming = Path(str(out) + ".parts", "RUN").is_file()
    if html_dir and Path(html_dir).exists() and not Path(html_dir).is_dir():
        raise InputError(f"{html_dir}: --html names an existing file; it must be a folder (new or empty)")
    if overwrite or resuming:
        return
    for path, what in ((out, "--out"), (summary, "--summary")):
        if path and Path(path).exists():
            raise InputError(f"{path}: exists ({what} of an earlier run); pass --overwrite to replace it, "
                             "or choose another name")
    if html_dir and Path(html_dir).is_dir() and any(Path(html_dir).iterdir()):
        raise InputError(f"{html_dir}: the --html folder is not empty (pages of an earlier run would stay beside "
                         "the new ones); pass --overwrite to clear its pages, or choose an empty folder")


def _clear_pages(html_dir: Path) -> None:
    """--overwrite: the .html pages (and temporary files) an earlier run left in the
    --html folder go; anything else there stays."""
    for page in html_dir.iterdir():
        if page.is_file() and page.suffix in (".html", ".tmp"):
            page.unlink()


def _read_meta(meta: Path) -> dict | None:
    """A part's meta file, or None where there is none (or it is unreadable): not done."""
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def open_parts_dir(parts_dir: Path, key: str, identity: list, overwrite: bool) -> bool:
    """Make or reuse a run's parts folder; True when an interrupted run resumes. Its
    RUN file holds the run's key (its arguments) and its inputs' identity: a folder
    left by other arguments, or by inputs that changed since, is refused (or, with
    overwrite, cleared), so parts of different runs never mix."""
    key_file = parts_dir / "RUN"
    earlier = _read_meta(key_file) if key_file.exists() else None
    if key_file.exists() and (not isinstance(earlier, dict) or earlier.get("key") != key):
        if not overwrite:
            raise InputError(f"{parts_dir}: left by a run with other arguments; delete it to start afresh "
                             "(or pass --overwrite)")
        shutil.rmtree(parts_dir)
    elif earlier is not None and earlier.get("inputs") != identity:
        then, now = {tuple(x) for x in earlier.get("inputs") or []}, {tuple(x) for x in identity}
        changed = sorted({x[0] for x in then ^ now})
        if not overwrite:
            raise InputError(f"{parts_dir}: the input {changed[0] if changed else '?'} changed since the "
                             f"interrupted run ({len(changed)} input(s) changed, added or removed); its parts "
                             "would mix old and new text: pass --overwrite to redo the run, or delete the "
                             "parts folder")
        shutil.rmtree(parts_dir)
    resuming = key_file.exists()
    parts_dir.parent.mkdir(parents=True, exist_ok=True)
    parts_dir.mkdir(exist_ok=True)
    if not resuming:
        _write_atomic(key_file, lambda f: json.dump({"key": key, "inputs": identity}, f))
    return resuming


def classify_documents(classifier, docs: list[Document], batch_size: int = 32) -> np.ndarray:
    """Label probabilities of every segment of `docs`, in order: the classifier's,
    with, for HTML pages when the model folder has a page-structure model, the
    boilerplate probability taken from the page's markup (pagestructure.combine).
    What predict.py writes and what the claimsort-document pipeline returns."""
    if not docs:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    proba = classifier.predict_proba([d.segments for d in docs], batch_size=batch_size)
    page_structure = getattr(classifier, "page_structure", None)
    k = 0
    for doc in docs:
        n = len(doc.segments)
        if page_structure is not None and doc.page_features is not None:  # HTML: boilerplate from markup
            proba[k:k + n] = combine(proba[k:k + n], page_structure.p_article(doc.page_features),
                                     LABELS.index("boilerplate"))
        k += n
    return proba


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


def document_from_text(text: str, fmt: str, doc_id: str = "article", source: str = "-") -> Document:
    """One article (fmt 'text', 'markdown' or 'html') as a Document: its segments and,
    for HTML, their markup features."""
    return _document_from_text(text, fmt, doc_id, source)


def predict(inputs: list[str], classifier, out: str, *, chunk_docs: int = 64, batch_size: int = 32,
            summary: str | None = None, html_dir: str | None = None, strict: bool = False,
            text_column: str = "text", id_column: str | None = None, progress: bool = True,
            rank: int = 0, world_size: int = 1, barrier=lambda: None, run_key: dict | None = None,
            overwrite: bool = False) -> PredictStats:
    """Classify every segment of the inputs and write the output file(s).

    An existing output (or summary, or --html pages) is replaced only with
    `overwrite` (see check_outputs). An interrupted run resumes only when its
    arguments and its input files (size and modification time) are unchanged; else
    it is refused, or, with `overwrite`, redone from the start. No output is written
    when no document could be read (stats.documents == 0)."""
    from tqdm import tqdm

    if chunk_docs < 1:
        raise InputError(f"chunk_docs must be at least 1, not {chunk_docs}")
    out_path = Path(out)
    fmt = output_format(out)
    summary_fmt = output_format(summary) if summary else None
    check_outputs(out, summary, html_dir, overwrite)
    parts_dir = out_path.with_name(out_path.name + ".parts")
    # the run's own files are never inputs, should they lie inside an input folder
    exclude = [str(out_path), str(parts_dir), *([summary] if summary else []), *([html_dir] if html_dir else [])]
    key = _run_key({"inputs": inputs, **(run_key or {})})
    identity = input_identity([p for item in inputs for p in _expand_one(item, exclude)])
    if rank == 0:
        resuming = open_parts_dir(parts_dir, key, identity, overwrite)
        if summary:
            Path(summary).parent.mkdir(parents=True, exist_ok=True)
        if not resuming and html_dir and overwrite and Path(html_dir).is_dir():
            _clear_pages(Path(html_dir))
    barrier()
    if html_dir:
        Path(html_dir).mkdir(parents=True, exist_ok=True)

    stats = PredictStats()
    start = time.perf_counter()
    issues: list[Issue] = []
    bar = tqdm(desc="predict", unit="doc", disable=not progress or rank != 0, dynamic_ncols=True)

    def part_paths(index: int) -> tuple[Path, Path, Path]:
        return (parts_dir / f"part-{index:06d}.jsonl", parts_dir / f"part-{index:06d}.json",
                parts_dir / f"summary-{index:06d}.jsonl")

    def finished(index: int) -> dict | None:
        # A chunk is done only when its meta file exists (written last); a part
        # without one, or a stray *.tmp, is the trace of a kill and is redone.
        part, meta, _ = part_paths(index)
        return _read_meta(meta) if part.exists() else None

    def chunks() -> Iterator[tuple[int, bool, dict | None, list[Document], list[Issue]]]:
        """(index, mine, done meta, documents, issues) of each chunk of chunk_docs work
        units. Every process enumerates the same units (cheap), but reads, decodes and
        segments only those of its own chunks (r, r+n, r+2n ...) that are not done:
        sharding the reading, not only the classifying. A chunk's issues are those met
        while it was being filled, so each is counted once, by the chunk's owner."""
        index, taken, docs = 0, 0, []
        mine, done = rank == 0, None
        for unit in iter_work_units(inputs, issues, strict, text_column, id_column, exclude):
            if taken == 0:
                mine = index % world_size == rank
                done = finished(index) if mine else None
            if mine and done is None:
                docs.extend(unit())
            taken += 1
            if taken == chunk_docs:
                yield index, mine, done, docs, issues[:]
                issues.clear()
                index, taken, docs = index + 1, 0, []
        if taken or issues:
            if taken == 0:
                mine = index % world_size == rank
                done = finished(index) if mine else None
            yield index, mine, done, docs, issues[:]
            issues.clear()

    n_chunks = 0
    for index, mine, done, docs, chunk_issues in chunks():
        n_chunks = index + 1
        part, meta, summary_part = part_paths(index)
        if not mine:
            continue
        if done is not None:
            stats.skipped_chunks += 1
            stats.issues.extend(Issue(**i) for i in done["issues"])
            stats.documents += done["documents"]
            stats.segments += done["segments"]
            bar.update(done["documents"])
            continue
        rows_by_doc = rows_for_documents(docs, classify_documents(classifier, docs, batch_size))
        _write_atomic(part, lambda f: f.writelines(json.dumps(r, ensure_ascii=False) + "\n"
                                                   for rows in rows_by_doc for r in rows))
        if summary:
            _write_atomic(summary_part, lambda f: f.writelines(
                json.dumps(document_summary(rows, doc), ensure_ascii=False) + "\n" for rows, doc in zip(rows_by_doc, docs)))
        if html_dir:
            from claimsort.rendering import write_document_page

            for j, (rows, doc) in enumerate(zip(rows_by_doc, docs)):
                write_document_page(rows, doc, Path(html_dir), number=index * chunk_docs + j + 1)
        n_segments = sum(len(r) for r in rows_by_doc)
        # The meta file is written last: a part counts as done only once it exists.
        extra = list(dict.fromkeys(k for rows in rows_by_doc for r in rows for k in r
                                   if k not in OUTPUT_COLUMNS and k != "gold_label"))
        _write_atomic(meta, lambda f: json.dump({"documents": len(docs), "segments": n_segments,
                                                 "gold_labels": any("gold_label" in r for rows in rows_by_doc
                                                                    for r in rows),
                                                 "extra_columns": extra,
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
        # Exactly this run's chunks, each vouched for by its meta file: nothing else
        # in the parts folder reaches the output.
        metas = []
        for index in range(n_chunks):
            part, meta, _ = part_paths(index)
            done = _read_meta(meta) if part.exists() else None
            if done is None:
                raise InputError(f"{parts_dir}: chunk {index} was not finished; run again with the same arguments")
            metas.append(done)
        columns = OUTPUT_COLUMNS + (["gold_label"] if any(m.get("gold_labels") for m in metas) else []) + \
            list(dict.fromkeys(c for m in metas for c in m.get("extra_columns", [])))
        if world_size > 1:  # the other processes' counts are in their meta files
            stats.documents = sum(m["documents"] for m in metas)
            stats.segments = sum(m["segments"] for m in metas)
            stats.issues = [Issue(**i) for m in metas for i in m["issues"]]
        if stats.documents:  # else nothing is written: predict.py says why and exits non-zero
            merge_parts([part_paths(i)[0] for i in range(n_chunks)], out_path, fmt, columns)
            if summary:
                merge_parts([part_paths(i)[2] for i in range(n_chunks)], Path(summary), summary_fmt,
                            SUMMARY_COLUMNS)
        shutil.rmtree(parts_dir)
    stats.seconds = time.perf_counter() - start
    return stats
