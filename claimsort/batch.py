"""Batch inference over article collections (orchestration only: chunks, resume, shards): read, segment, classify, write, in
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

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


from claimsort.io.errors import InputError, Issue
from claimsort.io.files import write_atomic
from claimsort.io.documents import Document, iter_work_units
from claimsort.io.inputs import _expand_one, input_identity
from claimsort.io.tables import OUTPUT_COLUMNS, SUMMARY_COLUMNS, document_summary, merge_parts, output_format, rows_for_documents
from claimsort.modeling.classify import classify_documents


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
        write_atomic(key_file, lambda f: json.dump({"key": key, "inputs": identity}, f))
    return resuming


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
        write_atomic(part, lambda f: f.writelines(json.dumps(r, ensure_ascii=False) + "\n"
                                                   for rows in rows_by_doc for r in rows))
        if summary:
            write_atomic(summary_part, lambda f: f.writelines(
                json.dumps(document_summary(rows, doc), ensure_ascii=False) + "\n" for rows, doc in zip(rows_by_doc, docs)))
        if html_dir:
            from claimsort.rendering import write_document_page

            for j, (rows, doc) in enumerate(zip(rows_by_doc, docs)):
                write_document_page(rows, doc, Path(html_dir), number=index * chunk_docs + j + 1)
        n_segments = sum(len(r) for r in rows_by_doc)
        # The meta file is written last: a part counts as done only once it exists.
        extra = list(dict.fromkeys(k for rows in rows_by_doc for r in rows for k in r
                                   if k not in OUTPUT_COLUMNS and k != "gold_label"))
        write_atomic(meta, lambda f: json.dump({"documents": len(docs), "segments": n_segments,
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
