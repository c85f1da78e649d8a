"""predict.py end to end, run as a user runs it (a subprocess per run): every input
kind, every output kind, bad input (skipped and reported, or fatal with --strict),
kill-and-resume, and the --html pages, with a headless-Chromium screenshot when
chromium is installed.

All text here is written for this file. Most tests use a TF-IDF model fitted on a
few of these sentences (built in a second, loaded in a second), so a predict.py run
costs about two seconds; one test runs a tiny, randomly initialised transformer.
"""
import csv
import gzip
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, read_jsonl

from claimsort.labels import LABELS
from claimsort.rendering import COLOURS

PROBA = [f"p_{label}" for label in LABELS]
COLUMNS = ["doc_id", "sent_id", "text", "label", *PROBA, "source_file"]
SUMMARY_COLUMNS = ["doc_id", "source_file", "n_segments", *(f"share_{label}" for label in LABELS)]

OFFICIAL = [
    "The transport ministry said the bridge would reopen on Monday.",
    "The utility announced that 300 homes had been reconnected.",
    "Officials confirmed that the budget rose by four percent.",
    "The ministry said 40 people had been treated in hospital.",
    "The city council announced a new bus timetable from June.",
    "The health department said vaccination rates had risen.",
    "The agency confirmed that the dam inspection was complete.",
    "Police said the road had been cleared by noon.",
    "The government announced that schools would open on time.",
    "The finance ministry said revenue grew in the third quarter.",
]
REPORTED = [
    "A resident told reporters she had waited three hours.",
    "One shopkeeper told the newspaper that business was slow.",
    "According to a neighbour, the water arrived late in the evening.",
    "A driver told reporters the queue stretched for a mile.",
    "According to witnesses, the crowd left peacefully.",
    "A teacher told local radio that pupils were nervous.",
    "Several farmers told reporters the harvest was poor.",
    "According to one nurse, the ward was full by midnight.",
    "A commuter told the newspaper he had missed two trains.",
    "According to a volunteer, the shelter ran out of blankets.",
]
SKEPTICAL = [
    "Critics question whether the repairs were finished.",
    "The figures could not be independently verified.",
    "It is unclear whether the claim is accurate.",
    "No evidence was provided to support the statement.",
    "The numbers could not be independently checked.",
    "Critics question the official account.",
    "It remains unclear how the total was calculated.",
    "No documents were offered to back up the figure.",
    "Independent experts doubt the estimate.",
    "The claim could not be verified by this newspaper.",
]
BOILERPLATE = [
    "Share this article",
    "Sign up for our newsletter",
    "All rights reserved.",
    "Read more",
    "Advertisement",
    "Follow us on social media",
    "Subscribe to our newsletter",
    "Share on social media",
    "Read more stories",
    "Copyright 2031 Example Gazette",
]
TRAINING = dict(zip(LABELS, (OFFICIAL, REPORTED, SKEPTICAL, BOILERPLATE)))


def article(i: int) -> str:
    """A small plain-text article, one segment a line, different for each i."""
    return (f"Story number {i}\n{OFFICIAL[i % 10]}\n{REPORTED[(i + 3) % 10]}\n{SKEPTICAL[(i + 7) % 10]}\n"
            f"{BOILERPLATE[i % 10]}\n")


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A TF-IDF model folder (the same format train.py writes for the tfidf config)."""
    from claimsort.modeling.tfidf import TfidfClassifier

    folder = tmp_path_factory.mktemp("model") / "tfidf"
    rows = [{"text": text, "label": label} for label, texts in TRAINING.items() for text in texts]
    TfidfClassifier.create(seed=0).fit(rows).save(folder)
    return folder


def run_predict(*args, stdin: bytes = b"", timeout: float = 300):
    """predict.py in a subprocess; (exit code, stderr)."""
    cmd = [sys.executable, str(ROOT / "predict.py"), *map(str, args), "--no-progress"]
    proc = subprocess.run(cmd, cwd=ROOT, input=stdin, capture_output=True, timeout=timeout)
    return proc.returncode, proc.stderr.decode("utf-8", errors="replace")


def final_line(stderr: str) -> dict:
    """The counts of predict.py's closing summary line."""
    m = re.search(r"(\d+) documents, (\d+) segments -> .*; (\d+) inputs skipped(?:, (\d+) chunks resumed)?", stderr)
    assert m, f"no summary line in:\n{stderr[-3000:]}"
    return {"documents": int(m[1]), "segments": int(m[2]), "skipped": int(m[3]), "resumed": int(m[4] or 0)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def by_doc(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    docs: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        docs.setdefault((row["doc_id"], row["source_file"]), []).append(row)
    return docs


def check_rows(rows: list[dict]) -> None:
    """Each row: the documented columns, probabilities summing to one, label = argmax."""
    assert rows
    for row in rows:
        assert [k for k in row if k != "gold_label"] == COLUMNS
        p = np.array([row[k] for k in PROBA])
        assert abs(p.sum() - 1) < 1e-3 and (p >= 0).all()
        assert row["label"] == LABELS[int(p.argmax())]
        assert isinstance(row["sent_id"], int) and row["text"].strip()


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def read_parquet(path: Path) -> tuple[list[str], list[dict]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.column_names, table.to_pylist()


# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #
TXT = "Bridge to reopen\nThe transport ministry said the bridge would reopen on Monday.\n" \
      "A driver told reporters the queue stretched for a mile.\nShare this article\n"
MD = ("# Water supply restored\n\nThe utility announced that 300 homes had been reconnected.\n\n"
      "* A resident told reporters she had waited [three hours](http://example.org/x).\n\n"
      "[Sign up for our newsletter](http://example.org/n)\n")
MD_SEGMENTS = ["Water supply restored", "The utility announced that 300 homes had been reconnected.",
               "A resident told reporters she had waited three hours.", "Sign up for our newsletter"]
HTML = ("<html><head><title>Bridge news</title></head><body><nav><a href='/'>Home</a> <a href='/w'>World</a></nav>"
        "<h1>Bridge to reopen</h1><p>The transport ministry said the bridge would reopen on Monday. "
        "Critics question whether the repairs were finished.</p><footer>All rights reserved.</footer></body></html>")
HTML_SEGMENTS = ["Bridge news", "Home World", "Bridge to reopen",
                 "The transport ministry said the bridge would reopen on Monday.",
                 "Critics question whether the repairs were finished.", "All rights reserved."]


def test_every_input_kind_in_one_run(model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    write(src / "a.txt", TXT)
    write(src / "b.md", MD)
    write(src / "c.html", HTML)
    (src / "d.html.gz").write_bytes(gzip.compress(HTML.replace("Bridge news", "Gzipped news").encode()))
    write(src / "nested" / "deeper" / "e.txt", article(5))
    write(src / "notes.pdf", "not an article type: a folder walk passes it by")
    globbed = tmp_path / "globbed"
    write(globbed / "g1.txt", article(1))
    write(globbed / "g2.txt", article(2))
    write(globbed / "h.txt", article(3))  # not matched by g*.txt
    segments = write_jsonl(tmp_path / "segments.jsonl", [
        {"doc_id": "s1", "sent_id": 0, "text": OFFICIAL[4]},
        {"doc_id": "s1", "sent_id": 1, "text": REPORTED[4]},
        {"doc_id": "s1", "sent_id": 2, "text": BOILERPLATE[4]},
        {"doc_id": "s2", "sent_id": 0, "text": SKEPTICAL[2]},
        {"doc_id": "s2", "sent_id": 1, "text": OFFICIAL[6]},
    ])
    records = write_jsonl(tmp_path / "records.jsonl", [
        {"id": "rec-text", "text": article(6)},
        {"id": "rec-md", "markdown": MD},
        {"id": "rec-html", "html": HTML},
    ])
    table_csv = tmp_path / "table.csv"
    with table_csv.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["doc_id", "text"])
        w.writerow(["csv-1", article(7)])
        w.writerow(["csv-2", f'{OFFICIAL[8]}\nResidents said "thank you, finally"'])
    table_parquet = tmp_path / "table.parquet"
    pq.write_table(pa.table({"doc_id": ["pq-1", "pq-2"], "text": [article(8), article(9)]}), table_parquet)
    stdin_text = "Headline from a pipe\n" + OFFICIAL[9] + "\n" + SKEPTICAL[9] + "\n"

    out, summary = tmp_path / "out" / "predictions.jsonl", tmp_path / "out" / "documents.csv"
    rc, err = run_predict(src, globbed / "g*.txt", segments, records, table_csv, table_parquet, "-",
                          "--model", model, "--out", out, "--summary", summary, stdin=stdin_text.encode())
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err
    rows = read_jsonl(out)
    check_rows(rows)
    expected = {
        ("a", src / "a.txt"): lines(TXT),
        ("b", src / "b.md"): MD_SEGMENTS,
        ("c", src / "c.html"): HTML_SEGMENTS,
        ("d", src / "d.html.gz"): ["Gzipped news", *HTML_SEGMENTS[1:]],
        ("e", src / "nested" / "deeper" / "e.txt"): lines(article(5)),
        ("g1", globbed / "g1.txt"): lines(article(1)),
        ("g2", globbed / "g2.txt"): lines(article(2)),
        ("s1", segments): [OFFICIAL[4], REPORTED[4], BOILERPLATE[4]],
        ("s2", segments): [SKEPTICAL[2], OFFICIAL[6]],
        ("rec-text", records): lines(article(6)),
        ("rec-md", records): MD_SEGMENTS,
        ("rec-html", records): HTML_SEGMENTS,
        ("csv-1", table_csv): lines(article(7)),
        ("csv-2", table_csv): [OFFICIAL[8], 'Residents said "thank you, finally"'],
        ("pq-1", table_parquet): lines(article(8)),
        ("pq-2", table_parquet): lines(article(9)),
        ("stdin", "-"): lines(stdin_text),
    }
    expected = {(doc_id, str(source)): texts for (doc_id, source), texts in expected.items()}
    docs = by_doc(rows)
    assert list(docs) == list(expected)  # every document, in input order
    for key, texts in expected.items():
        assert [r["text"] for r in docs[key]] == texts, key
        assert [r["sent_id"] for r in docs[key]] == list(range(len(texts))), key
    counts = final_line(err)
    assert counts == {"documents": len(expected), "segments": len(rows), "skipped": 0, "resumed": 0}
    assert len({r["label"] for r in rows}) == len(LABELS)  # the little model does tell the labels apart

    # --summary: one row per document, in the same order, with the share of each label
    fields, summary_rows = read_csv(summary)
    assert fields == SUMMARY_COLUMNS
    assert [(r["doc_id"], r["source_file"]) for r in summary_rows] == list(expected)
    for srow in summary_rows:
        doc_rows = docs[(srow["doc_id"], srow["source_file"])]
        assert int(srow["n_segments"]) == len(doc_rows)
        shares = [float(srow[f"share_{label}"]) for label in LABELS]
        assert abs(sum(shares) - 1) < 1e-3
        for label, share in zip(LABELS, shares):
            assert share == pytest.approx(sum(r["label"] == label for r in doc_rows) / len(doc_rows), abs=1e-4)
    assert not (tmp_path / "out" / "predictions.jsonl.parts").exists()  # cleaned up after the merge
    assert sorted(p.name for p in out.parent.iterdir()) == ["documents.csv", "predictions.jsonl"]


def test_text_and_id_columns(model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table_csv = tmp_path / "stories.csv"
    with table_csv.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["article_id", "headline", "body"])
        w.writerow(["A-1", "A headline that is not the text", article(10)])
        w.writerow(["A-2", "Another headline", article(11)])
    table_parquet = tmp_path / "stories.parquet"
    pq.write_table(pa.table({"article_id": ["P-1"], "headline": ["Not the text"], "body": [article(12)]}),
                   table_parquet)
    records = write_jsonl(tmp_path / "stories.jsonl", [{"article_id": "J-1", "headline": "x", "body": article(13)}])
    out = tmp_path / "predictions.jsonl"
    rc, err = run_predict(table_csv, table_parquet, records, "--model", model, "--out", out,
                          "--text-column", "body", "--id-column", "article_id")
    assert rc == 0, err[-3000:]
    docs = by_doc(read_jsonl(out))
    assert list(docs) == [("A-1", str(table_csv)), ("A-2", str(table_csv)), ("P-1", str(table_parquet)),
                          ("J-1", str(records))]
    for (doc_id, _), i in zip(docs, (10, 11, 12, 13)):
        assert [r["text"] for r in docs[(doc_id, _)]] == lines(article(i))


# --------------------------------------------------------------------------- #
# Outputs
# --------------------------------------------------------------------------- #
def test_jsonl_csv_and_parquet_outputs_hold_the_same_rows(model, tmp_path):
    txt = write(tmp_path / "plain.txt", article(20))
    # a segment table with gold labels: its rows carry gold_label, the text file's do not
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        {"doc_id": "g", "sent_id": i, "text": text, "label": label}
        for i, (text, label) in enumerate([(OFFICIAL[1], "official_claim"), (BOILERPLATE[2], "boilerplate")])])
    outputs = {}
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / fmt / f"predictions.{fmt}"
        rc, err = run_predict(txt, gold, "--model", model, "--out", out, "--summary", tmp_path / fmt / f"docs.{fmt}")
        assert rc == 0, err[-3000:]
        outputs[fmt] = out
    reference = read_jsonl(outputs["jsonl"])
    check_rows(reference)
    assert [r.get("gold_label") for r in reference] == [None] * 5 + ["official_claim", "boilerplate"]

    fields, csv_rows = read_csv(outputs["csv"])
    assert fields == COLUMNS + ["gold_label"]
    names, parquet_rows = read_parquet(outputs["parquet"])
    assert names == COLUMNS + ["gold_label"]

    def normal(row: dict) -> dict:
        row = {k: v for k, v in row.items() if v not in ("", None)}
        row["sent_id"] = int(row["sent_id"])
        return {**row, **{k: float(row[k]) for k in PROBA}}

    assert [normal(r) for r in csv_rows] == reference
    assert [normal(r) for r in parquet_rows] == reference
    summaries = [read_jsonl(tmp_path / "jsonl" / "docs.jsonl"), read_csv(tmp_path / "csv" / "docs.csv")[1],
                 read_parquet(tmp_path / "parquet" / "docs.parquet")[1]]
    for summary in summaries:
        assert [r["doc_id"] for r in summary] == ["plain", "g"]
        assert [int(r["n_segments"]) for r in summary] == [5, 2]
        for r in summary:
            assert list(r) == SUMMARY_COLUMNS
            assert sum(float(r[f"share_{label}"]) for label in LABELS) == pytest.approx(1, abs=1e-3)


def test_bad_output_name_is_a_clear_error(model, tmp_path):
    rc, err = run_predict(write(tmp_path / "a.txt", TXT), "--model", model, "--out", tmp_path / "predictions.txt")
    assert rc == 2
    assert "predictions.txt: output must end in .jsonl, .csv or .parquet" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
LONG_LINE = ("word " * 2_000_000).strip()  # a 10 MB single line


def _corrupt_gzip(text: str) -> bytes:
    """A gzip file whose header is fine and whose deflate stream is not."""
    data = bytearray(gzip.compress(text.encode() * 50))
    for i in range(12, 40):
        data[i] ^= 0xFF
    return bytes(data)


def bad_inputs(folder: Path) -> tuple[list, list[str], list[tuple[str, str]]]:
    """(input arguments, expected messages on stderr, (doc_id, file) of the good documents)."""
    good = write(folder / "good.txt", article(30))
    notes = write(folder / "notes.md", MD)
    latin1 = folder / "latin1.txt"
    latin1.write_bytes(b"First line is fine.\nSecond line too.\nCaf\xe9 owners said prices rose.\n")
    empty = write(folder / "empty.txt", "\n   \n\t\n")
    long_txt = write(folder / "long.txt", "A headline\n" + LONG_LINE + "\nA last line.\n")
    not_gzip = folder / "not-gzip.txt.gz"
    not_gzip.write_bytes(b"this was never gzipped")
    truncated = folder / "truncated.html.gz"
    truncated.write_bytes(gzip.compress(HTML.encode())[:40])
    corrupt = folder / "corrupt.txt.gz"
    corrupt.write_bytes(_corrupt_gzip(TXT))
    dangling = folder / "gone.txt"
    os.symlink(folder / "nowhere.txt", dangling)
    records = folder / "records.jsonl"
    records.write_bytes(b"\n".join([
        json.dumps({"id": "r1", "text": article(31)}).encode(),
        b'{"id": "r2", "text": "an unterminated string',
        json.dumps({"id": "r3", "text": "   "}).encode(),
        b"[1, 2, 3]",
        b'{"id": "r5", "text": "Caf\xe9 owners said prices rose."}',
        json.dumps({"id": "r6", "text": article(32)}).encode(),
        json.dumps({"id": "r7", "text": LONG_LINE}).encode(),
        json.dumps({"id": "r8", "text": article(33)}).encode(),
    ]) + b"\n")
    table = folder / "table.csv"
    with table.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["doc_id", "text"])
        w.writerow(["c1", f"{OFFICIAL[3]} {REPORTED[3]}"])
        w.writerow(["c2", "x" * 3_000_000])  # over the CSV field limit
        w.writerow(["c3", article(35)])
    no_text = folder / "no-text.csv"
    write(no_text, "doc_id,body\nn1,Some body text.\nn2,More body text.\n")
    directory = folder / "looks-like-a-file.txt"  # a folder with a file's name, named on the command line
    directory.mkdir()
    fifo = folder / "pipe.txt"  # not a regular file: never read (it would block)
    os.mkfifo(fifo)
    missing = folder / "missing.txt"
    empty_glob = folder / "nothing-here" / "*.txt"
    args = [folder, directory, missing, empty_glob]
    messages = [
        f"{latin1}:3: not valid UTF-8",
        f"{empty}: empty document",
        f"{long_txt}:2: a single line of 9,999,999 characters",
        f"{not_gzip}: unreadable (BadGzipFile",
        f"{truncated}: unreadable (EOFError",
        f"{corrupt}: unreadable (",
        f"{dangling}: no such file",
        f"{fifo}: not a regular file",
        f"{directory}: no matching files",
        f"{records}:2: bad JSON",
        f"{records}:3: empty document",
        f"{records}:4: expected a JSON object",
        f"{records}:5: not valid UTF-8",
        f"{records}:7: a single line of",
        f"{table}:3: bad CSV",
        f"{no_text}:1: no text column 'text'",
        f"{missing}: no such file",
        f"{empty_glob}: no matching files",
    ]
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        locked = write(folder / "locked.txt", article(36))
        locked.chmod(0)
        messages.append(f"{locked}: unreadable (PermissionError")
    good_docs = [("good", str(good)), ("notes", str(notes)), ("r1", str(records)), ("r6", str(records)),
                 ("r8", str(records)), ("c1", str(table)), ("c3", str(table))]
    return args, messages, good_docs


def test_bad_input_is_reported_with_file_and_line_and_skipped(model, tmp_path):
    args, messages, good_docs = bad_inputs(tmp_path / "inputs")
    out = tmp_path / "predictions.jsonl"
    rc, err = run_predict(*args, "--model", model, "--out", out, "--chunk-docs", "3")
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err
    skipped = [line for line in err.splitlines() if line.startswith("skipped: ")]
    for message in messages:
        assert sum(line.startswith(f"skipped: {message}") for line in skipped) == 1, (message, skipped)
    assert len(skipped) == len(messages)
    rows = read_jsonl(out)
    check_rows(rows)
    assert list(by_doc(rows)) == good_docs
    assert final_line(err) == {"documents": len(good_docs), "segments": len(rows), "skipped": len(messages),
                               "resumed": 0}


STRICT_CASES = {
    "bad encoding": ("latin1.txt", b"Fine.\nCaf\xe9 owners said prices rose.\n", ":2: not valid UTF-8"),
    "malformed JSON line": ("records.jsonl", b'{"text": "Fine."}\n{"text": "oops\n', ":2: bad JSON"),
    "empty document": ("records.jsonl", b'{"text": "Fine."}\n{"text": " "}\n', ":2: empty document"),
    "10 MB line": ("long.txt", b"A headline\n" + LONG_LINE.encode() + b"\n", ":2: a single line of"),
    "corrupt gzip": ("corrupt.txt.gz", _corrupt_gzip(TXT), ": unreadable ("),
}


@pytest.mark.parametrize("case", list(STRICT_CASES))
def test_strict_makes_bad_input_fatal_without_a_traceback(model, tmp_path, case):
    name, content, message = STRICT_CASES[case]
    good = write(tmp_path / "a-good.txt", TXT)
    bad = tmp_path / name
    bad.write_bytes(content)
    out = tmp_path / "predictions.jsonl"
    rc, err = run_predict(good, bad, "--model", model, "--out", out, "--strict")
    assert rc != 0
    assert f"error: {bad}{message}" in err, err[-3000:]
    assert "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- #
# Resuming
# --------------------------------------------------------------------------- #
def test_killed_run_resumes_to_byte_identical_output(model, tmp_path):
    """40 documents in chunks of 2. The documents come from two folders with
    standard input between them, so the run writes the parts of the first 20
    documents and then waits on its standard input: a deterministic place to
    kill it (SIGKILL to its process group)."""
    first, second = tmp_path / "first", tmp_path / "second"
    for i in range(20):
        write(first / f"doc{i:02d}.txt", article(i))
    for i in range(20, 39):
        write(second / f"doc{i:02d}.txt", article(i))
    stdin = article(99).encode()
    common = [first, "-", second, "--model", model, "--chunk-docs", "2"]

    reference = tmp_path / "reference"
    rc, err = run_predict(*common, "--out", reference / "predictions.jsonl", "--summary", reference / "docs.jsonl",
                          stdin=stdin)
    assert rc == 0, err[-3000:]
    assert final_line(err)["documents"] == 40

    out, summary = tmp_path / "run" / "predictions.jsonl", tmp_path / "run" / "docs.jsonl"
    parts = out.with_name(out.name + ".parts")
    args = [*common, "--out", out, "--summary", summary]
    proc = subprocess.Popen([sys.executable, str(ROOT / "predict.py"), *map(str, args), "--no-progress"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (parts / "part-000009.json").exists():
            assert proc.poll() is None, "predict.py ended before it could be interrupted"
            assert time.time() < deadline, "no part files after 120 s"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdin.close()
    assert not out.exists() and not summary.exists()
    assert len(list(parts.glob("part-*.json"))) == 10

    # What a kill at a worse moment leaves: the last part without its meta file (and
    # cut in the middle of a row), half-written temporary files, and a stray part
    # that no meta file vouches for. None of it may count as done.
    last = parts / "part-000009.jsonl"
    (parts / "part-000009.json").unlink()
    last.write_bytes(last.read_bytes()[: len(last.read_bytes()) // 2])
    write(parts / "part-000010.jsonl.tmp", '{"doc_id": "doc20", "sent_id": 0, "te')
    write(parts / "part-000010.json.tmp", '{"documents": 2, "segm')
    write(parts / "part-000050.jsonl", '{"doc_id": "stray", "sent_id": 0, "text": "A stray row."}\n')
    leftover = sorted(p.name for p in parts.iterdir())

    # a restart with other arguments on these parts is refused, clearly, and touches nothing
    rc, err = run_predict(*[a if a != "2" else "3" for a in common], "--out", out, "--summary", summary)
    assert rc == 2
    assert f"error: {parts}: left by a run with other arguments" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in parts.iterdir()) == leftover

    rc, err = run_predict(*args, stdin=stdin)
    assert rc == 0, err[-3000:]
    assert final_line(err) == {"documents": 40, "segments": 40 * 5, "skipped": 0, "resumed": 9}
    assert out.read_bytes() == (reference / "predictions.jsonl").read_bytes()
    assert summary.read_bytes() == (reference / "docs.jsonl").read_bytes()
    assert not parts.exists()


# --------------------------------------------------------------------------- #
# HTML pages
# --------------------------------------------------------------------------- #
SCREENSHOT_TXT = f"Bridge to reopen\n{OFFICIAL[0]}\n{REPORTED[0]}\n{SKEPTICAL[1]}\n{BOILERPLATE[0]}\n"
ESCAPE_TXT = f"Officials said <b>tolls</b> & fares would fall.\n{SKEPTICAL[2]}\n"


@pytest.fixture(scope="module")
def html_run(model, tmp_path_factory):
    """One --html run: two documents with the same file name in different folders,
    one with markup characters in its text, and a Markdown file."""
    tmp = tmp_path_factory.mktemp("html")
    write(tmp / "in" / "east" / "story.txt", SCREENSHOT_TXT)
    write(tmp / "in" / "west" / "story.txt", ESCAPE_TXT)
    write(tmp / "in" / "west" / "water.md", MD)
    out, pages = tmp / "predictions.jsonl", tmp / "pages"
    rc, err = run_predict(tmp / "in", "--model", model, "--out", out, "--html", pages)
    assert rc == 0, err[-3000:]
    return by_doc(read_jsonl(out)), pages


def page_of(pages: Path, doc_id: str, source: str) -> Path:
    import html

    title = f"<title>{html.escape(f'{doc_id} — {source}')}</title>"
    found = [p for p in pages.glob("*.html") if title in p.read_text(encoding="utf-8")]
    assert len(found) == 1, (doc_id, source, found)
    return found[0]


def test_html_one_page_per_document_with_label_colours_and_legend(html_run):
    import html

    docs, pages = html_run
    assert len(docs) == 3
    assert len(list(pages.glob("*.html"))) == 3  # the two story.txt files do not overwrite each other
    assert not list(pages.glob("*.tmp"))
    for (doc_id, source), rows in docs.items():
        page = page_of(pages, doc_id, source).read_text(encoding="utf-8")
        legend = re.search(r'<div class="legend">(.*?)</div>', page, re.S)
        assert legend, "no legend"
        for label in LABELS:
            assert f'<span style="background:{COLOURS[label]}">{label}</span>' in legend[1]
        spans = re.findall(r'<span class="seg" data-label="([a-z_]+)" style="background:(#[0-9a-f]{6})" '
                           r'title="[^"]*">(.*?)</span>', page, re.S)
        assert [(label, colour, html.unescape(text)) for label, colour, text in spans] == \
            [(r["label"], COLOURS[r["label"]], r["text"]) for r in rows]
    escaped = page_of(pages, "west/story.txt", str(pages.parent / "in" / "west" / "story.txt")).read_text(encoding="utf-8")
    assert "&lt;b&gt;tolls&lt;/b&gt; &amp; fares" in escaped and "<b>tolls" not in escaped


def _png_pixels(path: Path) -> np.ndarray:
    """(height, width, 3) uint8 RGB of a PNG: matplotlib, else Pillow, else a small zlib decoder."""
    try:
        import matplotlib.image

        image = matplotlib.image.imread(str(path))
        if image.dtype != np.uint8:
            image = np.round(image * 255).astype(np.uint8)
        return image[..., :3]
    except ImportError:
        pass
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"))
    except ImportError:
        pass
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        row = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = row[x - bpp] if x >= bpp else 0
            b = previous[x]
            c = previous[x - bpp] if x >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            row[x] = (line[x] + pred) & 0xFF
        out[y], previous = row, row
    return out.reshape(height, width, bpp)[..., :3]


def chromium() -> str | None:
    found = shutil.which("chromium")
    return found or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def test_html_page_screenshot_shows_each_label_colour(html_run, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium; CI installs it in .ci/run)")
    docs, pages = html_run
    rows = next(rows for (doc_id, source), rows in docs.items() if source.endswith("east/story.txt"))
    used = {r["label"] for r in rows}
    assert len(used) >= 2, "the screenshot page should show several labels"
    page = page_of(pages, rows[0]["doc_id"], rows[0]["source_file"])
    png = tmp_path / "page.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
                           "--window-size=1000,800", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert png.is_file(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    pixels = _png_pixels(png).astype(np.int16)
    assert pixels.shape[:2] == (800, 1000)
    masks = {}
    for label, colour in COLOURS.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        masks[label] = (np.abs(pixels - rgb) <= 2).all(axis=-1)
    # the legend: the rows where all four colours show; the segments: everything below it
    legend_rows = np.logical_and.reduce([m.any(axis=1) for m in masks.values()])
    assert legend_rows.any(), "no legend with the four label colours in the screenshot"
    below = np.arange(len(legend_rows)) > np.flatnonzero(legend_rows).max()
    for label, mask in masks.items():
        n = int(mask[below].sum())
        if label in used:
            assert n > 500, f"{label}: only {n} pixels of {COLOURS[label]} under the legend"
        else:
            assert n < 100, f"{label} is not on this page but {n} pixels show its colour"


# --------------------------------------------------------------------------- #
# The transformer model
# --------------------------------------------------------------------------- #
def test_transformer_model_and_the_fast_paths(tiny_transformer, tmp_path):
    txt = write(tmp_path / "a.txt", TXT)
    md = write(tmp_path / "b.md", MD)
    results, errors = {}, {}
    runs = (("torch", "none", "2"), ("torch", "none", "64"), ("torch", "int8", "64"), ("onnx", "none", "64"),
            ("auto", "none", "3"), ("onnx", "int8", "64"), ("onnx", "int8", "3"))
    for backend, fast, batch_size in runs:
        out = tmp_path / f"predictions-{backend}-{fast}-{batch_size}.csv"
        rc, err = run_predict(txt, md, "--model", tiny_transformer, "--out", out, "--fast", fast,
                              "--backend", backend, "--batch-size", batch_size, "--threads", "2")
        assert rc == 0, err[-3000:]
        fields, rows = read_csv(out)
        assert fields == COLUMNS
        rows = [{**r, "sent_id": int(r["sent_id"]), **{k: float(r[k]) for k in PROBA}} for r in rows]
        check_rows(rows)
        assert [r["text"] for r in rows] == lines(TXT) + MD_SEGMENTS
        results[backend, fast, batch_size] = np.array([[r[k] for k in PROBA] for r in rows])
        errors[backend, fast, batch_size] = err
    fp32 = results["torch", "none", "64"]
    # batching (sorting by token count, padding per batch) does not change a prediction
    assert np.abs(results["torch", "none", "2"] - fp32).max() < 1e-5
    # ONNX Runtime fp32 is the same model (auto picks it on a CPU)
    assert np.abs(results["onnx", "none", "64"] - fp32).max() < 1e-4
    assert np.abs(results["auto", "none", "3"] - fp32).max() < 1e-4
    # int8 weights (torch or ONNX Runtime) approximate the float model closely
    assert np.abs(results["torch", "int8", "64"] - fp32).max() < 0.05
    assert np.abs(results["onnx", "int8", "64"] - fp32).max() < 0.05
    assert np.abs(results["onnx", "int8", "3"] - results["onnx", "int8", "64"]).max() < 1e-4
    # each ONNX file is exported once, into the model folder, and reused
    assert "exporting" in errors["onnx", "none", "64"] and "exporting" not in errors["auto", "none", "3"]
    assert "exporting" in errors["onnx", "int8", "64"] and "exporting" not in errors["onnx", "int8", "3"]
    assert len(list((tiny_transformer / "onnx").glob("logits-int8-*.onnx"))) == 1
    assert len(list((tiny_transformer / "onnx").glob("logits-fp32-*.onnx"))) == 1


def test_onnx_export_goes_to_a_temporary_folder_when_the_model_folder_cannot_hold_it(tiny_transformer, tmp_path,
                                                                                     monkeypatch):
    import tempfile

    from claimsort.modeling.sentence import TransformerClassifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_transformer, folder, ignore=shutil.ignore_patterns("onnx"))
    (folder / "onnx").write_text("a file where the cache folder would go")  # mkdir fails, as when read-only
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    clf = TransformerClassifier.load(folder, fast="int8", backend="onnx")
    assert (folder / "onnx").read_text().startswith("a file")
    assert len(list((tmp_path / "tmp" / "claimsort-onnx").glob("logits-int8-*.onnx"))) == 1
    proba = clf.predict_proba([[{"sent_id": 0, "text": "The minister said the plan works."}]])
    assert proba.shape == (1, len(LABELS)) and abs(proba.sum() - 1) < 1e-5


@pytest.mark.parametrize("context", ["none", "neighbours"])
def test_repeated_segments_are_classified_once_with_the_same_result(tiny_transformer, context):
    from claimsort.modeling.sentence import TransformerClassifier

    clf = TransformerClassifier.load(tiny_transformer)
    clf.context = context
    menu = ["Home", "Sport", "Advertisement"]
    docs = [[{"sent_id": i, "text": t} for i, t in enumerate(menu + [f"Story {n} says the plan works.", *menu])]
            for n in range(3)]
    rows_computed = []
    forward = clf.logits
    clf.logits = lambda batch: rows_computed.append(len(batch["input_ids"])) or forward(batch)
    proba = clf.predict_proba(docs, batch_size=4)
    clf.logits = forward
    # the same as classifying every segment on its own (with its document, for context)
    singles = np.concatenate([clf.predict_proba([doc], batch_size=1)[[k]] for doc in docs for k in range(len(doc))])
    assert np.abs(proba - singles).max() < 1e-5
    if context == "none":  # 3 menu lines + 3 stories: 6 inputs computed, not 21
        assert sum(rows_computed) == 6
        assert np.array_equal(proba[0], proba[4]) and np.array_equal(proba[0], proba[7])
    else:  # with context, an input is the segment and its surroundings: only those repeated are shared
        from claimsort.modeling.sentence import build_inputs

        texts, pairs = build_inputs(docs, context, clf.context_window, clf.context_chars)
        assert sum(rows_computed) == len(set(zip(texts, pairs))) < 21


def test_each_process_reads_and_segments_only_its_own_chunks(model, tmp_path, monkeypatch):
    """accelerate launch's processes, played in turn in this process: process 1 of 2
    segments only the documents of its chunks (1, 3, ...), a bad line of a table
    counts once, and process 0's merge is the single-process output, byte for byte."""
    import claimsort.io.documents as documents
    from claimsort.batch import predict
    from claimsort.modeling.loading import load_classifier

    src = tmp_path / "in"
    for i in range(7):
        write(src / f"doc{i}.txt", article(i))
    write(src / "records.jsonl", '{"id": "r1", "text": "The ministry said so."}\n{bad\n'
                                 '{"id": "r2", "text": "Critics doubted it."}\n')
    clf = load_classifier(model)
    single = tmp_path / "single.jsonl"
    predict([str(src)], clf, str(single), chunk_docs=2, progress=False)
    segmented = []
    real = documents._document_from_text
    monkeypatch.setattr(documents, "_document_from_text",
                        lambda text, fmt, doc_id, source, line=None: segmented.append(doc_id) or
                        real(text, fmt, doc_id, source, line))
    sharded = tmp_path / "sharded.jsonl"
    (tmp_path / "sharded.jsonl.parts").mkdir()  # made by process 0 before the barrier process 1 waits at
    predict([str(src)], clf, str(sharded), chunk_docs=2, progress=False, rank=1, world_size=2)
    # units: doc0..doc6, r1, (bad line), r2 -> chunks of 2: [doc0 doc1] [doc2 doc3] [doc4 doc5] [doc6 r1] [r2]
    assert segmented == ["doc2", "doc3", "doc6", "r1"]
    segmented.clear()
    stats = predict([str(src)], clf, str(sharded), chunk_docs=2, progress=False, rank=0, world_size=2)
    assert segmented == ["doc0", "doc1", "doc4", "doc5", "r2"]
    assert sharded.read_bytes() == single.read_bytes()
    assert [str(i) for i in stats.issues] == [f"{src / 'records.jsonl'}:2: bad JSON at column 2 (Expecting "
                                              "property name enclosed in double quotes)"]
