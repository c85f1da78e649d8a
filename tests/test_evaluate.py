"""evaluate.py and the readers of the project's tables, run as a user runs them: the
right number or a one-line error naming the file (and line), never a traceback.

A TF-IDF model fitted on test_predict's sentences (a second to build and load)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from test_predict import OFFICIAL, REPORTED, SKEPTICAL, TRAINING

from claimsort.evaluation.metrics import compute_metrics


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    from claimsort.modeling.tfidf import TfidfClassifier

    folder = tmp_path_factory.mktemp("model") / "tfidf"
    rows = [{"text": text, "label": label} for label, texts in TRAINING.items() for text in texts]
    TfidfClassifier.create(seed=0).fit(rows).save(folder)
    return folder


def run(*args, cwd=ROOT):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def table(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_macro_f1_counts_only_labels_in_the_gold_or_the_predictions():
    m = compute_metrics(np.array([0]), np.array([0]), doc_ids=["d"], n_resamples=20)
    assert (m["accuracy"], m["macro_f1"]) == (1.0, 1.0)
    assert m["macro_f1_labels"] == ["official_claim"] and m["macro_f1_ci95"] == [1.0, 1.0]
    m = compute_metrics(np.array([0, 1]), np.array([0, 2]))
    assert m["macro_f1"] == pytest.approx(1 / 3)  # official 1.0, reported 0, skeptical 0; boilerplate not counted


def test_evaluate_a_single_segment_table_reports_macro_f1_one_with_accuracy_one(model, tmp_path):
    data = table(tmp_path / "one.jsonl", [{"doc_id": "d", "sent_id": 0, "text": OFFICIAL[0],
                                           "label": "official_claim"}])
    rc, out, err = run(ROOT / "evaluate.py", "--model", model, "--data", data, "--out", tmp_path / "r",
                       "--bootstrap", "50")
    assert rc == 0, err[-3000:]
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert "macro-F1 1.0000" in out


def test_evaluate_an_empty_table_is_one_line_error_and_leaves_no_report_folder(model, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    rc, out, err = run(ROOT / "evaluate.py", "--model", model, "--data", empty, "--out", tmp_path / "r")
    assert rc == 2
    assert err.strip() == f"error: {empty}: no segments; nothing to evaluate"
    assert not (tmp_path / "r").exists()


def test_evaluate_a_table_with_non_utf8_bytes_names_the_file_and_line(model, tmp_path):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(json.dumps({"doc_id": "d", "sent_id": 0, "text": OFFICIAL[0], "label": "official_claim"}).encode()
                    + b'\n{"doc_id": "d", "sent_id": 1, "text": "Caf\xe9 owners said so.", "label": "boilerplate"}\n')
    rc, out, err = run(ROOT / "evaluate.py", "--model", model, "--data", bad, "--out", tmp_path / "r")
    assert rc == 2
    assert err.strip() == f"error: {bad}:2: not UTF-8 (byte 43 of the line is 0xe9); save the file as UTF-8"
    assert not (tmp_path / "r").exists()


def test_data_check_of_a_table_with_non_utf8_bytes_names_the_file_and_line(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_bytes(b'{"doc_id": "d", "sent_id": 0, "text": "Caf\xe9"}\n')
    rc, out, err = run("-m", "claimsort.cli.data", "check", bad)
    assert rc == 2
    assert f"error: {bad}:1: not UTF-8" in err and "Traceback" not in err


def test_train_on_written_articles_with_non_utf8_bytes_names_the_file_and_line(tmp_path):
    bad = tmp_path / "articles.jsonl"
    bad.write_bytes(b'{"doc_id": "d", "sent_id": 0, "text": "Fine.", "label": "boilerplate", "split": "train"}\n'
                    b'{"doc_id": "d", "sent_id": 1, "text": "Caf\xe9", "label": "boilerplate", "split": "train"}\n')
    rc, out, err = run(ROOT / "train.py", "--config", "configs/smoke.yaml", f"data.written={bad}",
                       f"output_dir={tmp_path / 'm'}")
    assert rc == 2
    assert f"error: {bad}:2: not UTF-8" in err and "Traceback" not in err


def test_stand_off_annotations_with_non_utf8_bytes_name_the_file_and_line(tmp_path):
    from claimsort.io.errors import InputError
    from claimsort.corpus import read_standoff

    bad = tmp_path / "ptc.jsonl"
    bad.write_bytes(b'{"doc_id": "a", "path": "x.txt", "sha256": "0", "split": "train", "segments": [], '
                    b'"outlet": "Caf\xe9"}\n')
    with pytest.raises(InputError, match=f"{bad}:1: not UTF-8"):
        read_standoff(bad)


def test_compare_runs_scored_on_different_data_is_a_clear_error(model, tmp_path):
    rows = [{"doc_id": "d", "sent_id": i, "text": t, "label": label}
            for i, (t, label) in enumerate([(OFFICIAL[1], "official_claim"), (REPORTED[1], "reported_statement"),
                                            (SKEPTICAL[1], "editorial_skepticism")])]
    for name, subset in (("a", rows), ("b", rows[:2])):
        rc, out, err = run(ROOT / "evaluate.py", "--model", model, "--data", table(tmp_path / f"{name}.jsonl", subset),
                           "--out", tmp_path / name, "--bootstrap", "20")
        assert rc == 0, err[-3000:]
    rc, out, err = run(ROOT / "evaluate.py", "--compare", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "cmp")
    assert rc == 2
    assert err.strip() == (f"error: {tmp_path / 'b'}: evaluated on different data than {tmp_path / 'a'} "
                           "(2 segments against 3); compare runs evaluated on the same table or split")
    assert not (tmp_path / "cmp").exists()
