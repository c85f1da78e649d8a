"""Compare trained models on the real PTC test split (the PTC dev articles) and
the whole test split, beside annotator-vs-annotator agreement.

    python bench/model_comparison.py models/default models/sentence models/tfidf \
        [--reference models/default] [--out bench/results/model_comparison.md]

Reads each model's eval/test/predictions.jsonl (written by train.py or
evaluate.py), so every model is scored on the same segments. Intervals are 95%
bootstrap over documents; "vs reference" is a paired bootstrap test of the
macro-F1 difference on the PTC test articles.
"""
import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

from claimsort.labels import LABEL2ID, LABELS  # noqa: E402
from claimsort.evaluation.metrics import compute_metrics, paired_bootstrap  # noqa: E402


def load(model_dir: Path) -> tuple[dict, list[dict]]:
    cfg = yaml.safe_load((model_dir / "config.yaml").read_text())
    preds = [json.loads(line) for line in (model_dir / "eval/test/predictions.jsonl").open()]
    return cfg, preds


def describe(cfg: dict) -> str:
    m, t = cfg["model"], cfg["training"]
    if m["family"] == "tfidf":
        return "TF-IDF + logistic regression (balanced)"
    # config.yaml of a run: the Trainer's settings in training.trainer (older runs: training.epochs)
    epochs = (t.get("trainer") or {}).get("num_train_epochs", t.get("epochs"))
    if m["family"] == "document":
        head = f", then {t['head_epochs']} head-stage epochs" if t.get("head_epochs") else ""
        head += ", with word n-gram lexical inputs" if m.get("lexical_features") else ""
        return (f"document model: {m['base_model']} segment vectors ({m['max_length']} tokens, head+tail), BiGRU "
                f"over windows of {m['window']} every {m['stride']}, {epochs:g} epoch(s) end to end{head}")
    ctx = f"context ±{m['context_window']} ({m['context_chars']} chars)" if m["context"] == "neighbours" else "sentence only"
    return f"{m['base_model']}, {ctx}, class weights {t['class_weighting']}, {epochs:g} epoch(s)"


SOURCE_ORDER = ("ptc", "newsdiscourse", "basil", "web", "written")


def source_of(doc_id: str) -> str:
    """The source of a document id (prefix of its stand-off records)."""
    for prefix, source in (("ptc-", "ptc"), ("nd-", "newsdiscourse"), ("basil-", "basil"), ("web-", "web")):
        if doc_id.startswith(prefix):
            return source
    return "written"


def scores(preds: list[dict], keep) -> dict:
    rows = [p for p in preds if keep(p)]
    y = [LABEL2ID[p["label"]] for p in rows]
    pred = [LABEL2ID[p["predicted"]] for p in rows]
    return compute_metrics(y, pred, doc_ids=[p["doc_id"] for p in rows], n_resamples=1000, seed=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--reference", type=Path, help="model the paired tests compare against (default: the first)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/model_comparison.md")
    args = parser.parse_args(argv)
    reference = args.reference or args.models[0]
    loaded = {m: load(m) for m in args.models}
    ref_preds = loaded[reference][1]
    is_ptc = lambda p: p["doc_id"].startswith("ptc-")  # noqa: E731

    lines = ["## Models on the real test split", "",
             "PTC test = the 75 PTC dev articles (real news, never seen in training). All test = PTC test + held-out "
             "web pages, NewsDiscourse and BASIL articles + held-out written articles. 95% bootstrap intervals over documents; Δ = paired bootstrap "
             f"on the PTC test articles against `{reference}` (* = significant at 0.05).", "",
             "| model | what | PTC test macro-F1 | " + " | ".join(f"PTC F1 {l}" for l in LABELS)
             + " | all test macro-F1 | Δ PTC vs reference (p) |",
             "|---|---|---|" + "---|" * len(LABELS) + "---|---|"]
    for model, (cfg, preds) in loaded.items():
        ptc, all_ = scores(preds, is_ptc), scores(preds, lambda p: True)
        if model == reference:
            delta = "—"
        else:
            ptc_rows = [i for i, p in enumerate(ref_preds) if is_ptc(p)]
            keys_ref = [(ref_preds[i]["doc_id"], ref_preds[i]["sent_id"]) for i in ptc_rows]
            mine = {(p["doc_id"], p["sent_id"]): p for p in preds}
            test = paired_bootstrap([LABEL2ID[ref_preds[i]["label"]] for i in ptc_rows],
                                    [LABEL2ID[mine[k]["predicted"]] for k in keys_ref],
                                    [LABEL2ID[ref_preds[i]["predicted"]] for i in ptc_rows],
                                    [k[0] for k in keys_ref], 1000, 0)
            delta = f"{test['macro_f1_diff']:+.3f} ({test['p_value']:.3f}){' *' if test['significant_at_0.05'] else ''}"
        ci = ptc["macro_f1_ci95"]
        lines.append(f"| `{model}` | {describe(cfg)} | {ptc['macro_f1']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] | "
                     + " | ".join(f"{ptc['per_class'][l]['f1']:.3f}" for l in LABELS)
                     + f" | {all_['macro_f1']:.3f} [{all_['macro_f1_ci95'][0]:.3f}, {all_['macro_f1_ci95'][1]:.3f}] | {delta} |")
    agreement = json.loads((ROOT / "data/annotations/agreement.json").read_text())["pooled_blind"]
    whole = ["", "Whole test split, per class (95% bootstrap intervals over documents), and macro-F1 per source:", "",
             "| model | macro-F1 | " + " | ".join(f"F1 {l}" for l in LABELS) + " | "
             + " | ".join(f"{s} test" for s in SOURCE_ORDER) + " |",
             "|---|---|" + "---|" * (len(LABELS) + len(SOURCE_ORDER))]
    for model, (cfg, preds) in loaded.items():
        all_ = scores(preds, lambda p: True)
        per_source = []
        for source in SOURCE_ORDER:
            rows = [p for p in preds if source_of(p["doc_id"]) == source]
            per_source.append(f"{scores(rows, lambda p: True)['macro_f1']:.3f}" if rows else "—")
        whole.append(f"| `{model}` | {all_['macro_f1']:.3f} [{all_['macro_f1_ci95'][0]:.3f}, "
                     f"{all_['macro_f1_ci95'][1]:.3f}] | "
                     + " | ".join(f"{all_['per_class'][l]['f1']:.3f} [{all_['per_class'][l]['f1_ci95'][0]:.2f}, "
                                  f"{all_['per_class'][l]['f1_ci95'][1]:.2f}]" for l in LABELS)
                     + " | " + " | ".join(per_source) + " |")
    lines.append(f"| annotator vs annotator | two independent readers, {agreement['segments']} doubly annotated "
                 f"segments (Cohen's κ {agreement['cohen_kappa']:.3f}) | {agreement['macro_f1']:.3f} | "
                 + " | ".join(f"{agreement['per_class_f1'][l]:.3f}" for l in LABELS) + " | — | — |")
    text = "\n".join(lines + whole) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
