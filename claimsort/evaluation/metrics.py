"""Classification metrics, document-level bootstrap intervals, calibration."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, cohen_kappa_score, confusion_matrix, f1_score,
                             matthews_corrcoef, precision_recall_fscore_support)

from claimsort.labels import LABELS

K = len(LABELS)


def f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 from confusion matrices of shape (..., K, K) (rows = gold)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    gold = cm.sum(-1)
    pred = cm.sum(-2)
    denom = gold + pred
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-12), 0.0)


def macro_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Macro-F1 from confusion matrices of shape (..., K, K): the mean F1 over the
    labels that occur, in the gold labels or the predictions, of each matrix. A label
    absent from both says nothing about the model; counting it as 0 made a table of
    one correctly labelled segment score 0.25."""
    f1 = f1_from_confusion(cm)
    present = (cm.sum(-1) + cm.sum(-2)) > 0
    return (f1 * present).sum(-1) / np.maximum(present.sum(-1), 1)


def per_document_confusion(y_true: np.ndarray, y_pred: np.ndarray, doc_ids: list[str]) -> np.ndarray:
    """One K x K confusion matrix per document, in first-seen document order."""
    index = {d: i for i, d in enumerate(dict.fromkeys(doc_ids))}
    cms = np.zeros((len(index), K, K), dtype=np.int64)
    np.add.at(cms, ([index[d] for d in doc_ids], y_true, y_pred), 1)
    return cms


def bootstrap_f1(doc_cms: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Per-class F1 for `n_resamples` resamples of documents: shape (n, K)."""
    rng = np.random.default_rng(seed)
    n_docs = len(doc_cms)
    counts = rng.multinomial(n_docs, np.full(n_docs, 1.0 / n_docs), size=n_resamples)
    cms = np.einsum("rd,dij->rij", counts, doc_cms)
    return f1_from_confusion(cms)


def bootstrap_macro_f1(doc_cms: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Macro-F1 (macro_from_confusion) of `n_resamples` resamples of documents: shape (n,)."""
    rng = np.random.default_rng(seed)
    n_docs = len(doc_cms)
    counts = rng.multinomial(n_docs, np.full(n_docs, 1.0 / n_docs), size=n_resamples)
    return macro_from_confusion(np.einsum("rd,dij->rij", counts, doc_cms))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15):
    """ECE with equal-width confidence bins, plus the per-bin table for a diagram."""
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, n_bins - 1)
    table, ece = [], 0.0
    for b in range(n_bins):
        mask = bins == b
        if not mask.any():
            continue
        acc, conf = float(correct[mask].mean()), float(confidence[mask].mean())
        ece += mask.mean() * abs(acc - conf)
        table.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": int(mask.sum()),
                      "accuracy": acc, "confidence": conf})
    return float(ece), table


def compute_metrics(y_true, y_pred, proba=None, doc_ids=None, n_resamples: int = 1000, seed: int = 0) -> dict:
    """All the numbers of metrics.json."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(K))
    if len(y_true) == 0:
        raise ValueError("no segments to score")
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))  # see macro_from_confusion
    out = {
        "n_segments": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "macro_f1_labels": [LABELS[i] for i in present],
        "micro_f1": float(f1_score(y_true, y_pred, labels=labels, average="micro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "cohen_kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "matthews_corrcoef": float(matthews_corrcoef(y_true, y_pred)),
        "per_class": {LABELS[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                                  "support": int(s[i])} for i in labels},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if doc_ids is not None:
        out["n_documents"] = len(set(doc_ids))
        doc_cms = per_document_confusion(y_true, y_pred, doc_ids)
        samples = bootstrap_f1(doc_cms, n_resamples, seed)
        macro = bootstrap_macro_f1(doc_cms, n_resamples, seed)  # the same resamples (same seed)
        out["bootstrap"] = {"n_resamples": n_resamples, "seed": seed, "unit": "document"}
        out["macro_f1_ci95"] = [float(np.percentile(macro, 2.5)), float(np.percentile(macro, 97.5))]
        for i, label in enumerate(LABELS):
            out["per_class"][label]["f1_ci95"] = [float(np.percentile(samples[:, i], 2.5)),
                                                  float(np.percentile(samples[:, i], 97.5))]
    if proba is not None:
        proba = np.asarray(proba)
        ece, table = expected_calibration_error(proba.max(1), (proba.argmax(1) == y_true).astype(float))
        out["expected_calibration_error"] = ece
        out["reliability"] = table
    return out


def paired_bootstrap(y_true, pred_a, pred_b, doc_ids, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Is macro-F1 of A different from B on the same segments? Documents are
    resampled jointly; p is the two-sided share of resamples where the sign of
    the difference flips."""
    y_true = np.asarray(y_true)
    cms_a = per_document_confusion(y_true, np.asarray(pred_a), doc_ids)
    cms_b = per_document_confusion(y_true, np.asarray(pred_b), doc_ids)
    diff_observed = float(macro_from_confusion(cms_a.sum(0)) - macro_from_confusion(cms_b.sum(0)))
    diffs = bootstrap_macro_f1(cms_a, n_resamples, seed) - bootstrap_macro_f1(cms_b, n_resamples, seed)
    p = 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())
    return {"macro_f1_diff": diff_observed, "ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
            "p_value": float(min(1.0, p)), "significant_at_0.05": bool(p < 0.05), "n_resamples": n_resamples}
