"""predict.py never gives a silently wrong result and never replaces a finished one:
each case is run as a user runs it and checked for its message, its exit status and
no traceback. The TF-IDF model and helpers of test_predict."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, read_jsonl
from test_predict import (HTML, HTML_SEGMENTS, MD, MD_SEGMENTS, article, by_doc, final_line, lines,  # noqa: F401
                          model, run_predict, write, write_jsonl)  # model: the fixture


def test_predict_into_an_existing_output_is_refused_without_overwrite(model, tmp_path):
    src = write(tmp_path / "a.txt", article(1))
    out = tmp_path / "predictions.jsonl"
    assert run_predict(src, "--model", model, "--out", out)[0] == 0
    before = out.read_bytes()
    write(src, article(2))
    rc, err = run_predict(src, "--model", model, "--out", out)
    assert rc == 2
    assert err.strip() == (f"error: {out}: exists (--out of an earlier run); pass --overwrite to replace it, "
                           "or choose another name")
    assert out.read_bytes() == before
    rc, err = run_predict(src, "--model", model, "--out", out, "--overwrite")
    assert rc == 0, err[-3000:]
    assert [r["text"] for r in read_jsonl(out)] == lines(article(2))


def test_predict_into_a_non_empty_html_folder_is_refused_and_overwrite_clears_its_pages(model, tmp_path):
    out, pages = tmp_path / "p.jsonl", tmp_path / "pages"
    assert run_predict(write(tmp_path / "in" / "a.txt", article(1)), write(tmp_path / "in" / "b.txt", article(2)),
                       "--model", model, "--out", out, "--html", pages)[0] == 0
    assert len(list(pages.glob("*.html"))) == 2
    write(pages / "notes.txt", "mine")
    rc, err = run_predict(tmp_path / "in" / "a.txt", "--model", model, "--out", tmp_path / "q.jsonl", "--html", pages)
    assert rc == 2
    assert err.strip() == (f"error: {pages}: the --html folder is not empty (pages of an earlier run would stay beside "
                           "the new ones); pass --overwrite to clear its pages, or choose an empty folder")
    rc, err = run_predict(tmp_path / "in" / "a.txt", "--model", model, "--out", tmp_path / "q.jsonl", "--html", pages,
                          "--overwrite")
    assert rc == 0, err[-3000:]
    assert [p.name for p in sorted(pages.glob("*.html"))] == ["000001-a.html"]  # no stale page of b
    assert (pages / "notes.txt").read_text() == "mine"  # what is not a page stays


def test_predict_with_html_naming_an_existing_file_is_a_clear_error(model, tmp_path):
    taken = write(tmp_path / "pages", "a file")
    out = tmp_path / "p.jsonl"
    rc, err = run_predict(write(tmp_path / "a.txt", article(1)), "--model", model, "--out", out, "--html", taken,
                          "--overwrite")
    assert rc == 2
    assert err.strip() == f"error: {taken}: --html names an existing file; it must be a folder (new or empty)"
    assert not out.exists() and not (tmp_path / "p.jsonl.parts").exists()


@pytest.mark.parametrize("case", ["mistyped path", "empty glob", "mistyped text column"])
def test_predict_where_every_input_is_skipped_exits_non_zero_and_writes_nothing(model, tmp_path, case):
    table = tmp_path / "t.csv"
    write(table, "doc_id,body\nd1,The ministry said so.\n")
    args, message = {
        "mistyped path": ([tmp_path / "artcles.txt"], f"skipped: {tmp_path / 'artcles.txt'}: no such file"),
        "empty glob": ([tmp_path / "*.md"], f"skipped: {tmp_path / '*.md'}: no matching files"),
        "mistyped text column": ([table, "--text-column", "bdy"], f"skipped: {table}:1: no text column 'bdy'"),
    }[case]
    out = tmp_path / "p.jsonl"
    rc, err = run_predict(*args, "--model", model, "--out", out)
    assert rc == 2
    assert message in err
    assert f"error: no document could be read: 1 inputs skipped (see above); nothing written to {out}" in err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "p.jsonl.parts").exists()


def test_predict_on_files_with_the_same_name_in_different_folders_gives_distinct_doc_ids(model, tmp_path):
    from claimsort.corpus import read_segment_table

    for path in ("x/report.md", "y/report.md", "y/report.txt", "y/other.txt"):
        write(tmp_path / "in" / path, article(len(path)))
    out = tmp_path / "p.jsonl"
    rc, err = run_predict(tmp_path / "in", "--model", model, "--out", out)
    assert rc == 0, err[-3000:]
    assert [doc_id for doc_id, _ in by_doc(read_jsonl(out))] == ["x/report.md", "other", "y/report.md",
                                                                 "y/report.txt"]
    assert len(read_segment_table(out)) == len(read_jsonl(out))  # the project's own check accepts the output


def test_predict_with_a_mistyped_id_column_is_an_error(model, tmp_path):
    table = write(tmp_path / "t.csv", "article_id,text\nA-1,The ministry said so.\n")
    records = write_jsonl(tmp_path / "r.jsonl", [{"article_id": "J-1", "text": "The ministry said so."}])
    rc, err = run_predict(table, records, "--model", model, "--out", tmp_path / "p.jsonl", "--id-column", "nope")
    assert rc == 2
    assert f"skipped: {table}:1: no id column 'nope' (--id-column; columns: article_id, text)" in err
    assert f"skipped: {records}:1: no id column 'nope' (--id-column)" in err
    assert "Traceback" not in err


def test_predict_on_a_csv_with_an_unclosed_quote_names_the_file_and_line(model, tmp_path):
    table = write(tmp_path / "t.csv", 'doc_id,text\nc1,The ministry said so.\nc2,"Critics doubt it.\n'
                                      'c3,Share this article\nc4,The utility announced it.\n')
    out = tmp_path / "p.jsonl"
    rc, err = run_predict(table, "--model", model, "--out", out)
    assert rc == 0, err[-3000:]
    assert f'skipped: {table}:3: unclosed quote: the field runs to the end of the file (3 lines); close it with "' \
        in err
    assert [doc_id for doc_id, _ in by_doc(read_jsonl(out))] == ["c1"]  # no row merged into c2's text
    rc, err = run_predict(table, "--model", model, "--out", tmp_path / "q.jsonl", "--strict")
    assert rc == 2 and f"error: {table}:3: unclosed quote" in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_predict_keeps_the_extra_columns_of_a_table(model, tmp_path, fmt):
    table = tmp_path / "t.csv"
    with table.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["doc_id", "text", "url", "label"])
        w.writerow(["c1", article(3), "http://example.org/1", "mine"])
    segments = write_jsonl(tmp_path / "s.jsonl", [{"doc_id": "s", "sent_id": 0, "text": "The ministry said so.",
                                                   "outlet": "Gazette", "page": 4}])
    out = tmp_path / f"p.{fmt}"
    rc, err = run_predict(table, segments, "--model", model, "--out", out)
    assert rc == 0, err[-3000:]
    if fmt == "jsonl":
        rows = read_jsonl(out)
    else:
        with out.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    assert {(r["url"], r["input_label"]) for r in rows if r["doc_id"] == "c1"} == {("http://example.org/1", "mine")}
    assert [(r["outlet"], str(r["page"])) for r in rows if r["doc_id"] == "s"] == [("Gazette", "4")]


def test_predict_on_a_jsonl_article_record_keeps_its_markdown_as_the_md_file_does(model, tmp_path):
    md_file = write(tmp_path / "water.md", MD)
    records = write_jsonl(tmp_path / "r.jsonl", [{"id": "by-format", "text": MD, "format": "markdown"},
                                                 {"id": "by-source", "text": MD, "source": "articles/water.md"},
                                                 {"id": "plain", "text": "One line.\nAnother line.\n"}])
    out = tmp_path / "p.jsonl"
    rc, err = run_predict(md_file, records, "--model", model, "--out", out)
    assert rc == 0, err[-3000:]
    docs = {doc_id: [(r["text"], r["label"]) for r in rows] for (doc_id, _), rows in by_doc(read_jsonl(out)).items()}
    assert [t for t, _ in docs["water"]] == MD_SEGMENTS
    assert docs["by-format"] == docs["water"] and docs["by-source"] == docs["water"]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "text": MD, "format": "rtf"}])
    rc, err = run_predict(bad, "--model", model, "--out", tmp_path / "q.jsonl")
    assert rc == 2 and f"skipped: {bad}:1: format 'rtf' is not one of text, markdown, html" in err


def test_predict_on_html_from_standard_input_reads_it_as_html(model, tmp_path):
    out = tmp_path / "p.jsonl"
    rc, err = run_predict("-", "--model", model, "--out", out, stdin=HTML.encode())
    assert rc == 0, err[-3000:]
    assert [r["text"] for r in read_jsonl(out)] == HTML_SEGMENTS
    rc, err = run_predict("-", "--model", model, "--out", tmp_path / "q.jsonl",
                          stdin=b"Officials said <p> tags are fine.\nAnother line.\n")
    assert [r["text"] for r in read_jsonl(tmp_path / "q.jsonl")] == ["Officials said <p> tags are fine.",
                                                                     "Another line."]


def test_resumed_predict_with_a_changed_input_is_refused_or_redone(model, tmp_path):
    """A run killed while it waits on standard input, after the parts of the folder's
    four documents; one of them then changes. Resuming would mix old and new text, so
    it is refused; --overwrite redoes the run."""
    src = tmp_path / "in"
    for i in range(4):
        write(src / f"doc{i}.txt", article(i))
    out, parts = tmp_path / "p.jsonl", tmp_path / "p.jsonl.parts"
    args = [src, "-", "--model", model, "--out", out, "--chunk-docs", "2"]
    proc = subprocess.Popen([sys.executable, str(ROOT / "predict.py"), *map(str, args), "--no-progress"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (parts / "part-000001.json").exists():
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdin.close()
    write(src / "doc1.txt", article(7))
    os.utime(src / "doc1.txt", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    rc, err = run_predict(*args, stdin=article(9).encode())
    assert rc == 2
    assert err.strip().startswith(f"error: {parts}: the input {src / 'doc1.txt'} changed since the interrupted run "
                                  "(1 input(s) changed, added or removed)")
    assert "Traceback" not in err and not out.exists()
    rc, err = run_predict(*args, "--overwrite", stdin=article(9).encode())
    assert rc == 0, err[-3000:]
    assert final_line(err)["resumed"] == 0
    assert [r["text"] for r in read_jsonl(out) if r["doc_id"] == "doc1"] == lines(article(7))
