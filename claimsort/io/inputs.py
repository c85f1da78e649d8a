"""Input discovery: files, folders (recursively) and globs as the ordered list of
input files, the run's own outputs excluded, each text file's doc_id, and the
inputs' identity (size, modification time) that decides whether a run may resume."""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterator


from claimsort.io.errors import InputError, Issue, report


TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}

TABLE_SUFFIXES = {".jsonl", ".csv", ".parquet"}


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


def _paths(inputs: list[str], exclude: list[str], issues: list[Issue], strict: bool) -> Iterator[str]:
    """expand_inputs, one argument at a time; a folder or glob with no input file is reported."""
    for item in inputs:
        found = _expand_one(item, exclude)
        if not found:
            detail = " (a folder without .txt, .md, .html, .htm, .jsonl, .csv or .parquet files)" \
                if os.path.isdir(item) else ""
            report(InputError(f"{item}: no matching files{detail}"), issues, strict)
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
