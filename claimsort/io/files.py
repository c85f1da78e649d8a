"""Files: UTF-8 lines with their file:line, JSONL records, JSON objects, saved
web pages (.html or .html.gz), and atomic writes (a temporary name, then a rename,
so that a killed run never leaves a half-written file)."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Callable, Iterator

from claimsort.io.errors import InputError


def iter_lines(path: str | Path) -> Iterator[tuple[str, str]]:
    """("file:line", text) of every line of a UTF-8 file, for every reader of the
    project's JSONL files (segment tables, stand-off annotations): bytes that are not
    UTF-8 are a InputError naming the file and line, not a UnicodeDecodeError from
    somewhere inside the reader."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            try:
                yield where, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"{where}: not UTF-8 (byte {e.start + 1} of the line is {raw[e.start]:#04x}); "
                                "save the file as UTF-8") from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, object]]:
    """("file:line", parsed value) of every non-blank line of a JSONL file; bad JSON is
    an InputError naming the file and line."""
    for where, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: bad JSON ({e.msg} at column {e.colno})") from None


def read_json_object(path: Path, hint: str = "") -> dict:
    """A JSON object file (a model folder's config.json, tfidf.json ...), or an
    InputError naming it (and the line); `hint` says what to do about it."""
    hint = f"; {hint}" if hint else ""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing{hint}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text{hint}") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: not valid JSON ({e.msg}){hint}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object{hint}")
    return data


def read_page(path: Path) -> str:
    """Decoded HTML of a page file (.html or .html.gz)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def write_atomic(path: str | Path, write: Callable, binary: bool = False) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
