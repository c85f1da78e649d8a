import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from sklearn.metrics import f1_score

from claimsort.labels import LABELS
from claimsort.evaluation.metrics import bootstrap_f1, compute_metrics, expected_calibration_error, f1_from_confusion, paired_bootstrap, per_document_confusion


def _toy(seed=0, n=400, noise=0.3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    pred = np.where(rng.random(n) < noise, rng.integers(0, 4, n), y)
    docs = [f"d{i // 20}" for i in range(n)]
    return y, pred, docs


def test_f1_from_confusion_matches_sklearn():
    y, pred, docs = _toy()
    cms = per_document_confusion(y, pred, docs)
    assert np.allclose(f1_from_confusion(cms.sum(0)), f1_score(y, pred, average=None, labels=range(4)))


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    y, pred, docs = _toy()
    a = compute_metrics(y, pred, doc_ids=docs, n_resamples=300, seed=1)
    b = compute_metrics(y, pred, doc_ids=docs, n_resamples=300, seed=1)
    assert a == b
    low, high = a["macro_f1_ci95"]
    assert low < a["macro_f1"] < high
    assert bootstrap_f1(per_document_confusion(y, pred, docs), 50, 0).shape == (50, 4)


def test_paired_bootstrap_detects_a_real_difference_and_not_a_null_one():
    y, good, docs = _toy(noise=0.1, n=1000)
    _, bad, _ = _toy(noise=0.6, n=1000)
    assert paired_bootstrap(y, good, bad, docs, 300)["significant_at_0.05"]
    assert not paired_bootstrap(y, good, good, docs, 300)["significant_at_0.05"]


def test_expected_calibration_error():
    conf = np.array([0.9] * 10)
    assert expected_calibration_error(conf, np.array([1] * 9 + [0]))[0] == pytest.approx(0.0)
    assert expected_calibration_error(conf, np.zeros(10))[0] == pytest.approx(0.9)


def test_model_card_loads_and_its_metrics_equal_metrics_json(smoke_model):
    from huggingface_hub import ModelCard

    card = ModelCard.load(smoke_model / "README.md")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "token-classification"  # the document model labels every segment of an article
    assert data["license"] == "apache-2.0" and data["language"] == "en"
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    metrics = json.loads((smoke_model / "eval/test/metrics.json").read_text())
    results = {m["type"]: m["value"] for r in data["model-index"][0]["results"] for m in r["metrics"]}
    assert results["f1"] == round(metrics["macro_f1"], 4)
    assert results["accuracy"] == round(metrics["accuracy"], 4)
    text = card.text
    for heading in ("Intended use", "Label scheme", "Training data", "Evaluation", "Limitations", "Usage"):
        assert f"## {heading}" in text
    assert f"{metrics['macro_f1']:.4f}" in text
    for label in LABELS:
        assert label in text


def test_hub_push_without_token_stops_before_doing_anything(smoke_model, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0")
    proc = subprocess.run([sys.executable, "-m", "claimsort.cli.hub", "push", str(smoke_model), "--repo-id", "someone/x"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no Hugging Face token" in proc.stderr and "nothing was uploaded" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_compare_runs_side_by_side(smoke_model, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), "--compare", str(smoke_model / "eval/test"),
                           str(smoke_model / "eval/test"), "--out", str(tmp_path / "cmp"), "--bootstrap", "100"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (tmp_path / "cmp/comparison.md").read_text()
    assert "paired bootstrap" in table and table.count(str(smoke_model / "eval/test")) == 2
