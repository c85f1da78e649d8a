"""predict.py's output stays byte-identical: a TF-IDF model fitted on the written
articles (deterministic) classifies fixed inputs of every kind (text, Markdown,
HTML, article records in JSONL and CSV), and the JSONL and CSV outputs must equal,
byte for byte, the files the code wrote before the package was reorganised
(tests/fixtures/golden_output/, written by that code). A change that moves a
segment boundary, a probability's rounding, a column or a row's order fails here."""
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

FIXTURES = ROOT / "tests/fixtures"


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    from claimsort.corpus import read_segment_table
    from claimsort.modeling.tfidf import TfidfClassifier

    folder = tmp_path_factory.mktemp("golden") / "model"
    # the 152 written articles the golden output was recorded with (wA- to wD-); later
    # rounds of written articles would change the fitted model, not the code under test
    rows = [r for r in read_segment_table(ROOT / "data/written/articles.jsonl", require_label=True)
            if r["doc_id"][:3] in ("wA-", "wB-", "wC-", "wD-")]
    assert len({r["doc_id"] for r in rows}) == 152
    TfidfClassifier.create(seed=42).fit(rows).save(folder)
    return folder


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_predict_output_is_byte_identical_to_the_recorded_output(tfidf_model, tmp_path, suffix):
    shutil.copytree(FIXTURES / "golden", tmp_path / "golden")
    out = tmp_path / f"predictions.{suffix}"
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), "golden", "--model", str(tfidf_model),
                           "--out", out.name, "--no-progress"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_bytes() == (FIXTURES / "golden_output" / f"predictions.{suffix}").read_bytes()
