"""The segment table and the labelled corpus.

The segment table is the interchange format of everything: JSONL rows
``{"doc_id": str, "sent_id": int, "text": str, "label": str}`` (label optional
for unlabelled input; extra keys are kept). Segments of a document are
consecutive and ordered by ``sent_id``.

The corpus has three sources:

* ``written`` - articles written for this project, shipped in full in
  ``data/written/articles.jsonl``;
* ``ptc`` - real articles of the Propaganda Techniques Corpus, labelled as
  stand-off annotations in ``data/annotations/ptc.jsonl`` (document id, SHA-256
  of the source text, character offsets and label of each segment);
* ``web`` - real news web pages, stand-off in
  ``data/annotations/web-pages.jsonl`` (offsets into the page's visible text).

Third-party text is never stored here: :func:`build_corpus` joins the
annotations with the texts found in the directories the user points to.
"""
from __future__ import annotations

import dataclasses

import hashlib
import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from claimsort.io.errors import InputError
from claimsort.io.rows import validate_row
from claimsort.io.files import iter_jsonl, read_page, write_atomic
from claimsort.labels import LABELS
from claimsort.text.overlap import normalise

SOURCES = ("written", "ptc", "web", "newsdiscourse", "basil")
SPLITS = ("train", "dev", "test")


def iter_segment_table(path: str | Path, require_label: bool = False) -> Iterator[dict]:
    """Validated rows of a JSONL segment table, one at a time."""
    seen: set[tuple[str, int]] = set()
    finished_docs: set[str] = set()
    current_doc, last_sent_id = None, None
    for where, row in iter_jsonl(path):
        row = validate_row(row, where, require_label)
        key = (row["doc_id"], row["sent_id"])
        if key in seen:
            raise InputError(f"{where}: duplicate (doc_id, sent_id) {key}")
        seen.add(key)
        if row["doc_id"] != current_doc:
            if row["doc_id"] in finished_docs:
                raise InputError(f"{where}: segments of document {row['doc_id']!r} are not consecutive")
            if current_doc is not None:
                finished_docs.add(current_doc)
            current_doc, last_sent_id = row["doc_id"], None
        if last_sent_id is not None and row["sent_id"] < last_sent_id:
            raise InputError(f"{where}: sent_id {row['sent_id']} comes after {last_sent_id} in document {row['doc_id']!r}")
        last_sent_id = row["sent_id"]
        yield row


def read_segment_table(path: str | Path, require_label: bool = False) -> list[dict]:
    return list(iter_segment_table(path, require_label))


def write_segment_table(rows: Iterable[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def group_documents(rows: Iterable[dict]) -> list[list[dict]]:
    """Rows grouped into documents (rows of a document are consecutive)."""
    docs: list[list[dict]] = []
    for row in rows:
        if docs and docs[-1][0]["doc_id"] == row["doc_id"]:
            docs[-1].append(row)
        else:
            docs.append([row])
    return docs


# --------------------------------------------------------------------------- #
# Stand-off annotations joined with third-party text
# --------------------------------------------------------------------------- #
def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_standoff(path: Path) -> list[dict]:
    """Records of a stand-off annotation file (one document per line)."""
    records = []
    for where, rec in iter_jsonl(path):
        if not isinstance(rec, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        for key in ("doc_id", "path", "sha256", "split", "segments"):
            if key not in rec:
                raise InputError(f"{where}: missing field {key!r}")
        for start, end, label in rec["segments"]:
            if label not in LABELS:
                raise InputError(f"{where}: unknown label {label!r}")
        rec["_where"] = where
        records.append(rec)
    return records


def _check_dir(directory: str | Path, what: str, env: str) -> Path:
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise InputError(f"{what} directory {directory} (from config or ${env}) does not exist")
    return directory


def _join(rec: dict, text: str, source: str, extra: dict) -> list[dict]:
    rows = []
    for sent_id, (start, end, label) in enumerate(rec["segments"]):
        rows.append({
            "doc_id": rec["doc_id"], "sent_id": sent_id, "text": text[start:end], "label": label,
            "source": source, "outlet": rec.get("outlet", source), "split": rec["split"], **extra,
        })
    return rows


def newsdiscourse_text(raw: str) -> str:
    """The article of a NewsDiscourse file: its headline (`H` line) and sentences
    (`S<n>` lines), one a line, paragraphs kept (the URL and date lines are the
    corpus's metadata, not the page)."""
    lines: list[str] = []
    for line in raw.split("\n"):
        m = re.match(r"^(?:H|S\d+) (.*)$", line)
        if m:
            lines.append(m.group(1))
        elif not line.strip() and lines and lines[-1]:
            lines.append("")
    return "\n".join(lines).strip("\n") + "\n"


# NewsDiscourse keeps its train/ files in topic folders (train/Politics/Xinhua_12.txt)
# and its validation/ files flat, the topic as a letter before the outlet
# (validation/PXinhua_12.txt). A document id names the file: nd-<split>-<topic>-<name>
# for the first, nd-validation-<name> for the second (names repeat across folders).
def newsdiscourse_doc_id(rel_path: str) -> str:
    """The document id of a NewsDiscourse file, from its path in the corpus folder."""
    parts = Path(rel_path).with_suffix("").parts
    return "nd-" + "-".join(parts)


def newsdiscourse_path(doc_id: str) -> str:
    """The path, in the corpus folder, of a NewsDiscourse document id."""
    rest = doc_id[len("nd-"):]
    if rest.startswith("validation-"):
        return f"validation/{rest[len('validation-'):]}.txt"
    split, topic, name = rest.split("-", 2)
    return f"{split}/{topic}/{name}.txt"


def newsdiscourse_outlet(doc_id: str) -> str:
    """xinhua, reuters or nyt: the outlet a NewsDiscourse file name starts with."""
    name = Path(newsdiscourse_path(doc_id)).stem.lower()
    for outlet in ("xinhua", "reuters", "nyt"):
        if name.startswith(outlet) or (name[1:].startswith(outlet) and name[0] in "bcdp"):
            return outlet
    raise ValueError(f"{doc_id}: not a Xinhua, Reuters or NYT file name")


def basil_text(raw: str) -> str:
    """The article of a BASIL file: its title, then its paragraphs (sentences joined)."""
    record = json.loads(raw)
    return (record["title"] + "\n\n"
            + "\n\n".join(" ".join(sentences) for sentences in record["body-paragraphs"]) + "\n")


def _page_text(raw: str) -> str:
    from claimsort.text.segmentation import html_to_text

    return html_to_text(raw)


def _read_source_file(path: Path) -> str:
    if path.suffix == ".gz":
        return read_page(path)
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class ThirdPartySource:
    """A third-party corpus joined at run time with its stand-off labels."""
    name: str  # the `source` of its rows
    title: str  # for messages
    env: str  # environment variable naming its folder
    shared_name: str  # its folder under ../shared/corpora/, the project's documented place
    annotations: str  # the stand-off file in data/annotations/
    text_of: object = None  # raw file -> the text the offsets point into (None: the file itself)


THIRD_PARTY = {
    "ptc": ThirdPartySource("ptc", "PTC", "CLAIMSORT_PTC_DIR", "ptc", "data/annotations/ptc.jsonl"),
    "web": ThirdPartySource("web", "Web-pages", "CLAIMSORT_WEB_PAGES_DIR", "web-pages",
                            "data/annotations/web-pages.jsonl", _page_text),
    "newsdiscourse": ThirdPartySource("newsdiscourse", "NewsDiscourse", "CLAIMSORT_NEWSDISCOURSE_DIR",
                                      "newsdiscourse", "data/annotations/newsdiscourse.jsonl", newsdiscourse_text),
    "basil": ThirdPartySource("basil", "BASIL", "CLAIMSORT_BASIL_DIR", "basil", "data/annotations/basil.jsonl",
                              basil_text),
}
PTC_DIR_ENV = THIRD_PARTY["ptc"].env
WEB_PAGES_DIR_ENV = THIRD_PARTY["web"].env


def build_standoff(source: str, annotations: Path, directory: str | Path) -> list[dict]:
    """Join a source's stand-off annotations with its files in `directory`: every
    annotated file must be there with the SHA-256 it was annotated with (and, where
    the offsets point into a text derived from it, that text's SHA-256 too)."""
    spec = THIRD_PARTY[source]
    directory = _check_dir(directory, spec.title, spec.env)
    rows, missing, changed = [], [], []
    for rec in read_standoff(annotations):
        path = directory / rec["path"]
        if not path.is_file():
            missing.append(rec["path"])
            continue
        raw = _read_source_file(path)
        if sha256(raw) != rec["sha256"]:
            changed.append(rec["path"])
            continue
        text = raw if spec.text_of is None else spec.text_of(raw)
        if "text_sha256" in rec and sha256(text) != rec["text_sha256"]:
            raise InputError(
                f"{rec['_where']}: the text derived from {path} differs from the annotated one; "
                "a text extractor changed its output: install the pinned versions (requirements.txt)"
            )
        rows.extend(_join(rec, text, source, {}))
    _raise_incomplete(spec.title, directory, missing, changed)
    return rows


def build_ptc(annotations: Path, ptc_dir: str | Path) -> list[dict]:
    """Join the PTC stand-off annotations with the article texts in `ptc_dir`."""
    return build_standoff("ptc", annotations, ptc_dir)


def _raise_incomplete(what: str, directory: Path, missing: list[str], changed: list[str]) -> None:
    problems = []
    if missing:
        problems.append(f"{len(missing)} annotated documents are missing: {', '.join(missing[:20])}"
                        + (" ..." if len(missing) > 20 else ""))
    if changed:
        problems.append(f"{len(changed)} documents differ from the annotated text (SHA-256 mismatch): "
                        + ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else ""))
    if problems:
        raise InputError(f"{what} directory {directory} is incomplete: " + "; ".join(problems))


def load_written(path: Path) -> list[dict]:
    rows = read_segment_table(path, require_label=True)
    for row in rows:
        row.setdefault("source", "written")
    return rows


SHARED_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@dataclass
class CorpusPaths:
    """Where the corpus pieces are; None for a third-party directory means 'find it'
    ($CLAIMSORT_..._DIR, else ../shared/corpora/<name> beside the checkout)."""
    written: str = "data/written/articles.jsonl"
    ptc_annotations: str = THIRD_PARTY["ptc"].annotations
    web_annotations: str = THIRD_PARTY["web"].annotations
    newsdiscourse_annotations: str = THIRD_PARTY["newsdiscourse"].annotations
    basil_annotations: str = THIRD_PARTY["basil"].annotations
    ptc_dir: str | None = None
    web_pages_dir: str | None = None
    newsdiscourse_dir: str | None = None
    basil_dir: str | None = None
    sources: tuple = SOURCES  # the sources to use; others are left out even when found

    @classmethod
    def from_config(cls, data) -> "CorpusPaths":
        """The corpus locations of a run config's data group (claimsort.config.DataConfig),
        field by field, by name."""
        return cls(**{f.name: (tuple(getattr(data, f.name)) if f.name == "sources" else getattr(data, f.name))
                      for f in dataclasses.fields(cls)})

    def annotations(self, source: str) -> str:
        return getattr(self, f"{source}_annotations")

    def directory(self, source: str) -> str | None:
        return getattr(self, "web_pages_dir" if source == "web" else f"{source}_dir")


def resolve_dir(source: str, given: str | None) -> tuple[str | None, str]:
    """A third-party source's folder and where it came from: the config key, else its
    environment variable, else ../shared/corpora/<name> when that exists; else None."""
    spec = THIRD_PARTY[source]
    if given:
        return given, "config"
    if os.environ.get(spec.env):
        return os.environ[spec.env], f"${spec.env}"
    shared = SHARED_CORPORA / spec.shared_name
    if shared.is_dir():
        return str(shared), "../shared/corpora"
    return None, "not found"


def resolve_dirs(ptc_dir: str | None, web_pages_dir: str | None) -> tuple[str | None, str | None]:
    """The PTC and web-pages folders (see resolve_dir)."""
    return resolve_dir("ptc", ptc_dir)[0], resolve_dir("web", web_pages_dir)[0]


def build_corpus(paths: CorpusPaths, root: Path = Path("."), announce=None) -> list[dict]:
    """All labelled segments whose text is present: written always, each third-party
    source when its folder is found (a given but missing or incomplete folder is an
    error, never a silent fallback). `announce` (e.g. print) is told which sources
    are used, from where, and which are not."""
    rows = load_written(root / paths.written)
    used = [f"written ({len(rows)} segments)"]
    unused = []
    for source, spec in THIRD_PARTY.items():
        if source not in paths.sources:
            unused.append(f"{source} (not in data.sources)")
            continue
        directory, origin = resolve_dir(source, paths.directory(source))
        annotations = root / paths.annotations(source)
        if not directory:
            unused.append(f"{source} (set ${spec.env} or data.{'web_pages' if source == 'web' else source}_dir)")
            continue
        if not annotations.is_file():
            unused.append(f"{source} (no {annotations})")
            continue
        part = build_standoff(source, annotations, directory)
        rows += part
        used.append(f"{source} ({len(part)} segments, {directory} from {origin})")
    if announce is not None:
        announce("corpus sources: " + "; ".join(used) + (("; not used: " + "; ".join(unused)) if unused else ""))
    check_splits(rows)
    return rows


def check_splits(rows: list[dict]) -> None:
    """Fail if a document, or an identical non-boilerplate segment, is in two splits."""
    doc_split: dict[str, str] = {}
    text_split: dict[str, tuple[str, str]] = {}
    for row in rows:
        split = row.get("split")
        if split not in SPLITS:
            raise InputError(f"document {row['doc_id']}: split {split!r} is not one of {SPLITS}")
        if doc_split.setdefault(row["doc_id"], split) != split:
            raise InputError(f"document {row['doc_id']} appears in splits {doc_split[row['doc_id']]} and {split}")
        if row["label"] == "boilerplate":
            continue
        key = normalise(row["text"])
        if len(key) < 20:  # short lines ("Read more", a name) recur legitimately
            continue
        first = text_split.setdefault(key, (split, row["doc_id"]))
        if first[0] != split:
            raise InputError(
                f"segment {row['doc_id']}#{row['sent_id']} ({row['text'][:60]!r}) also appears in "
                f"document {first[1]} of split {first[0]}: split leakage"
            )


def split_rows(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for row in rows:
        out[row["split"]].append(row)
    return out


def assign_splits(doc_ids: list[str], fractions=(0.7, 0.15, 0.15), seed: int = 13) -> dict[str, str]:
    """A fixed document-level split (used once, when annotations are created)."""
    ids = sorted(doc_ids)
    random.Random(seed).shuffle(ids)
    n_train = round(len(ids) * fractions[0])
    n_dev = round(len(ids) * fractions[1])
    return {d: ("train" if i < n_train else "dev" if i < n_train + n_dev else "test") for i, d in enumerate(ids)}


def fingerprint(rows: list[dict]) -> str:
    """SHA-256 over the (doc_id, sent_id, text, label, split) of every row."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps([row["doc_id"], row["sent_id"], row["text"], row.get("label"), row.get("split")],
                            ensure_ascii=False).encode())
    return h.hexdigest()
