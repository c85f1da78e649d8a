"""Evaluation reports (metrics.json, figures, error analysis, report.md/.html),
run comparisons, and the Hugging Face model card of a model folder."""
from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from claimsort.corpus import group_documents
from claimsort.labels import LABEL2ID, LABELS
from claimsort.evaluation.metrics import compute_metrics, paired_bootstrap

N_ERRORS_PER_PAIR = 5


def predict_rows(classifier, rows: list[dict], batch_size: int = 64) -> np.ndarray:
    return classifier.predict_proba(group_documents(rows), batch_size=batch_size)


def _plot_confusion(cm: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, data, title, fmt in ((axes[0], cm, "counts", "d"), (axes[1], norm, "row-normalised (recall)", ".2f")):
        ax.imshow(data, cmap="Blues")
        ax.set_xticks(range(len(LABELS)), LABELS, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(LABELS)), LABELS, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"Confusion matrix, {title}")
        for i in range(len(LABELS)):
            for j in range(len(LABELS)):
                value = format(data[i, j], fmt)
                ax.text(j, i, value, ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_reliability(table: list[dict], ece: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    centres = [(b["lower"] + b["upper"]) / 2 for b in table]
    ax.bar(centres, [b["accuracy"] for b in table], width=1 / 15, alpha=0.7, edgecolor="black", label="accuracy")
    ax.plot([b["confidence"] for b in table], [b["accuracy"] for b in table], "o-", color="C1", label="bins")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability diagram (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def error_analysis(rows: list[dict], proba: np.ndarray, k: int = N_ERRORS_PER_PAIR) -> dict:
    """The k most confident mistakes of each (gold, predicted) pair, with neighbours."""
    pred = proba.argmax(1)
    by_pair = defaultdict(list)
    for i, row in enumerate(rows):
        gold = LABEL2ID[row["label"]]
        if pred[i] != gold:
            by_pair[(row["label"], LABELS[pred[i]])].append(i)
    out = {}
    for (gold, predicted), idx in sorted(by_pair.items(), key=lambda kv: -len(kv[1])):
        idx.sort(key=lambda i: -proba[i].max())
        examples = []
        for i in idx[:k]:
            same_doc = lambda j: 0 <= j < len(rows) and rows[j]["doc_id"] == rows[i]["doc_id"]  # noqa: E731
            examples.append({
                "doc_id": rows[i]["doc_id"], "sent_id": rows[i]["sent_id"], "confidence": float(proba[i].max()),
                "before": rows[i - 1]["text"] if same_doc(i - 1) else None, "text": rows[i]["text"],
                "after": rows[i + 1]["text"] if same_doc(i + 1) else None,
            })
        out[f"{gold} -> {predicted}"] = {"count": len(idx), "examples": examples}
    return out


def per_group(rows: list[dict], pred: np.ndarray, key: str) -> dict:
    groups = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row.get(key) or "unknown"].append(i)
    out = {}
    for name, idx in sorted(groups.items()):
        y = np.array([LABEL2ID[rows[i]["label"]] for i in idx])
        m = compute_metrics(y, pred[idx])
        out[name] = {"n_segments": len(idx), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    return out


def evaluate_rows(classifier, rows: list[dict], out_dir: Path, title: str, seed: int = 0,
                  n_resamples: int = 1000) -> dict:
    """Predict, score and write the full report of one labelled segment table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    proba = predict_rows(classifier, rows)
    y = np.array([LABEL2ID[r["label"]] for r in rows])
    pred = proba.argmax(1)
    metrics = compute_metrics(y, pred, proba, [r["doc_id"] for r in rows], n_resamples=n_resamples, seed=seed)
    metrics["per_source"] = per_group(rows, pred, "source")
    metrics["per_outlet"] = per_group(rows, pred, "outlet")
    errors = error_analysis(rows, proba)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out_dir / "errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))
    with (out_dir / "predictions.jsonl").open("w", encoding="utf-8") as f:
        for row, p in zip(rows, proba):
            f.write(json.dumps({"doc_id": row["doc_id"], "sent_id": row["sent_id"], "label": row["label"],
                                "predicted": LABELS[int(p.argmax())],
                                **{f"p_{label}": round(float(p[i]), 5) for i, label in enumerate(LABELS)}}) + "\n")
    _plot_confusion(np.array(metrics["confusion_matrix"]), out_dir / "confusion_matrix.png")
    _plot_reliability(metrics["reliability"], metrics["expected_calibration_error"], out_dir / "reliability.png")
    write_report(metrics, errors, out_dir, title)
    return metrics


def _fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def report_markdown(metrics: dict, errors: dict, title: str, image_src=lambda name: name) -> str:
    m = metrics
    lines = [f"# Evaluation report: {title}", "",
             f"{m['n_segments']} segments in {m.get('n_documents', '?')} documents.", "",
             "| metric | value |", "|---|---|",
             f"| macro-F1 | {m['macro_f1']:.3f} {_fmt_ci(m.get('macro_f1_ci95'))} |",
             f"| accuracy | {m['accuracy']:.3f} |", f"| micro-F1 | {m['micro_f1']:.3f} |",
             f"| weighted F1 | {m['weighted_f1']:.3f} |", f"| Cohen's kappa | {m['cohen_kappa']:.3f} |",
             f"| Matthews correlation | {m['matthews_corrcoef']:.3f} |",
             f"| expected calibration error | {m.get('expected_calibration_error', float('nan')):.3f} |", "",
             "Intervals: 95% bootstrap over documents "
             f"({m.get('bootstrap', {}).get('n_resamples', 0)} resamples, seeded).", "",
             "## Per class", "", "| label | precision | recall | F1 | F1 95% CI | support |", "|---|---|---|---|---|---|"]
    for label, c in m["per_class"].items():
        lines.append(f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                     f"{_fmt_ci(c.get('f1_ci95'))} | {c['support']} |")
    lines += ["", "## Confusion matrix", "", f"![confusion matrix]({image_src('confusion_matrix.png')})", "",
              "## Calibration", "", f"![reliability diagram]({image_src('reliability.png')})", ""]
    for key, heading in (("per_source", "Per source"), ("per_outlet", "Per outlet")):
        if m.get(key):
            lines += [f"## {heading}", "", "| group | segments | accuracy | macro-F1 |", "|---|---|---|---|"]
            lines += [f"| {g} | {v['n_segments']} | {v['accuracy']:.3f} | {v['macro_f1']:.3f} |"
                      for g, v in m[key].items()]
            lines.append("")
    lines += ["## Most confident mistakes, by confusion (gold -> predicted)", ""]
    for pair, info in errors.items():
        lines += [f"### {pair} ({info['count']})", ""]
        for ex in info["examples"]:
            ctx_before = f" _before:_ {ex['before'][:160]}" if ex["before"] else ""
            ctx_after = f" _after:_ {ex['after'][:160]}" if ex["after"] else ""
            lines.append(f"- **{ex['text'][:300]}** ({ex['doc_id']}#{ex['sent_id']}, p={ex['confidence']:.2f})"
                         f"<br>{ctx_before}{ctx_after}")
        lines.append("")
    return "\n".join(lines)


def write_report(metrics: dict, errors: dict, out_dir: Path, title: str) -> None:
    import markdown as md_lib

    (out_dir / "report.md").write_text(report_markdown(metrics, errors, title), encoding="utf-8")

    def inline(name: str) -> str:
        data = base64.b64encode((out_dir / name).read_bytes()).decode()
        return f"data:image/png;base64,{data}"

    body = md_lib.markdown(report_markdown(metrics, errors, title, inline), extensions=["tables"])
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
            "img{max-width:100%}</style></head><body>" + body + "</body></html>")
    (out_dir / "report.html").write_text(page, encoding="utf-8")


def compare_runs(runs: list[Path], out_dir: Path, n_resamples: int = 1000, seed: int = 0) -> str:
    """Side-by-side table of evaluation folders (each with metrics.json and
    predictions.jsonl on the same segments), with paired bootstrap tests of
    each run against the first."""
    from claimsort.io.errors import InputError
    from claimsort.io.files import iter_jsonl

    loaded = []
    for run in runs:
        run = Path(run)
        if not (run / "metrics.json").is_file() or not (run / "predictions.jsonl").is_file():
            raise InputError(f"{run}: not an evaluation folder (needs metrics.json and predictions.jsonl)")
        preds = [row for _, row in iter_jsonl(run / "predictions.jsonl")]
        loaded.append((run, json.loads((run / "metrics.json").read_text()), preds))
    ref_run, _, ref = loaded[0]
    ref_keys = [(p["doc_id"], p["sent_id"]) for p in ref]
    for run, _, preds in loaded[1:]:
        # a paired comparison needs the same segments with the same gold labels
        keys = [(p["doc_id"], p["sent_id"]) for p in preds]
        if keys != ref_keys:
            differ = (f"{len(preds)} segments against {len(ref)}" if len(keys) != len(ref_keys) else
                      "the same number of segments, but other ones or in another order")
            raise InputError(f"{run}: evaluated on different data than {ref_run} ({differ}); "
                            "compare runs evaluated on the same table or split")
        if [p["label"] for p in preds] != [p["label"] for p in ref]:
            raise InputError(f"{run}: the same segments as {ref_run} but other gold labels; "
                            "compare runs evaluated on the same table or split")
    out_dir.mkdir(parents=True, exist_ok=True)
    y = [LABEL2ID[p["label"]] for p in loaded[0][2]]
    docs = [p["doc_id"] for p in loaded[0][2]]
    header = "| run | macro-F1 (95% CI) | accuracy | " + " | ".join(f"F1 {l}" for l in LABELS) + \
             f" | Δ macro-F1 vs {loaded[0][0].name} | p (paired bootstrap) |"
    lines = ["# Run comparison", "", header, "|" + "---|" * (5 + len(LABELS))]
    tests = {}
    for run, m, preds in loaded:
        pred = [LABEL2ID[p["predicted"]] for p in preds]
        if run is loaded[0][0]:
            delta = p_value = "—"
        else:
            test = paired_bootstrap(y, [LABEL2ID[p["predicted"]] for p in loaded[0][2]], pred, docs,
                                    n_resamples, seed)
            # test is A=first minus B=this run; report this run minus first
            tests[str(run)] = {**test, "macro_f1_diff": -test["macro_f1_diff"],
                               "ci95": [-test["ci95"][1], -test["ci95"][0]]}
            delta = f"{-test['macro_f1_diff']:+.3f}"
            p_value = f"{test['p_value']:.3f}" + (" *" if test["significant_at_0.05"] else "")
        per = " | ".join(f"{m['per_class'][l]['f1']:.3f}" for l in LABELS)
        lines.append(f"| {run} | {m['macro_f1']:.3f} {_fmt_ci(m.get('macro_f1_ci95'))} | {m['accuracy']:.3f} | "
                     f"{per} | {delta} | {p_value} |")
    lines += ["", "\\* significant at 0.05 (two-sided paired bootstrap over documents, "
              f"{n_resamples} resamples, seed {seed})."]
    text = "\n".join(lines) + "\n"
    (out_dir / "comparison.md").write_text(text)
    (out_dir / "comparison.json").write_text(json.dumps(tests, indent=2))
    return text
