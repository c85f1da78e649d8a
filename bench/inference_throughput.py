"""Inference throughput on CPU: the same model, the same segments, one run.

    python bench/inference_throughput.py [--model models/sentence] [--n 3000]
        [--threads 2] [--runs 3] [--batch-size 64] [--pipeline-batch-size 32]

(a) transformers.pipeline("text-classification") over the plain segment texts;
(b) predict.py fp32 as it runs on a CPU (--backend auto = onnx): ONNX Runtime,
    the model exported once into <model>/onnx/ (not timed); inputs tokenized once,
    sorted by token count, padded per batch (TransformerClassifier.predict_proba);
(c) the same in PyTorch (--backend torch);
(d) predict.py --fast int8 (onnx backend): fused graph, int8 weights;
(e) predict.py --fast int8 --backend torch: torch dynamic int8 of the linear layers.

Segments: the written corpus (data/written/articles.jsonl, all splits), whole
documents repeated until there are at least --n segments. Each path is warmed up
once (on the first documents), then timed --runs times; the median is reported.
Macro-F1 is against the gold labels of the same rows.
"""
from __future__ import annotations

import argparse
import statistics
import time


from _common import (macro_f1, markdown_table, resolve_model, write_result,  # noqa: E402  (sets sys.path)
                     written_documents)


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def warm_docs(docs: list[list[dict]], n: int = 256) -> list[list[dict]]:
    out, total = [], 0
    for doc in docs:
        out.append(doc)
        total += len(doc)
        if total >= n:
            break
    return out


# --------------------------------------------------------------------------- #
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/sentence", help="sentence-only model folder (configs/sentence.yaml)")
    parser.add_argument("--n", type=int, default=3000, help="at least this many segments (whole documents)")
    parser.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime intra-op threads")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per path (median reported)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size of (b) to (e) (predict.py's default)")
    parser.add_argument("--pipeline-batch-size", type=int, default=32, help="batch size of the pipeline (a)")
    args = parser.parse_args(argv)

    import onnxruntime
    import torch
    from transformers import pipeline

    from claimsort.labels import LABELS
    from claimsort.modeling.sentence import TransformerClassifier

    torch.set_num_threads(args.threads)
    model_dir = resolve_model(args.model)
    docs = written_documents(args.n)
    rows = [r for d in docs for r in d]
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    n = len(rows)
    warm = warm_docs(docs)
    print(f"{n} segments in {len(docs)} documents; model {args.model}; {args.threads} threads", flush=True)

    results = []  # (name, seconds, labels or None, note)

    # (a) pipeline over plain texts
    pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device=-1)
    run_pipe = lambda xs: pipe(xs, batch_size=args.pipeline_batch_size, truncation=True)  # noqa: E731
    run_pipe([r["text"] for d in warm for r in d])
    sec, out = timed(lambda: run_pipe(texts), args.runs)
    results.append(("(a) transformers.pipeline, segment text only", sec, [o["label"] for o in out],
                    f"batch {args.pipeline_batch_size}, input order, no context"))
    del pipe
    print(f"(a) {n / sec:.0f} segments/s", flush=True)

    def run_classifier(name, clf, note):
        clf.predict_proba(warm, batch_size=args.batch_size)
        sec, proba = timed(lambda: clf.predict_proba(docs, batch_size=args.batch_size), args.runs)
        results.append((name, sec, [LABELS[i] for i in proba.argmax(1)], note))
        print(f"{name.split()[0]} {n / sec:.0f} segments/s", flush=True)
        return proba

    def load(name, **kwargs):
        start = time.perf_counter()  # the first ONNX load exports the model; later loads read the cached file
        clf = TransformerClassifier.load(model_dir, **kwargs)
        return clf, f"load {time.perf_counter() - start:.1f} s (not timed)"

    fp32, load_note = load("onnx fp32", backend="onnx")
    context = f"context: {fp32.context}" + (f" (window {fp32.context_window})" if fp32.context != "none" else "")
    run_classifier("(b) predict.py fp32 (ONNX Runtime)", fp32,
                   f"batch {args.batch_size}, sorted by token count, {context}; {load_note}")
    run_classifier("(c) predict.py fp32 --backend torch", load("torch fp32")[0], "same inputs as (b)")
    clf, load_note = load("onnx int8", backend="onnx", fast="int8")
    run_classifier("(d) predict.py --fast int8 (ONNX Runtime)", clf,
                   f"onnxruntime {onnxruntime.__version__}: fused attention, int8 weights; {load_note}")
    run_classifier("(e) predict.py --fast int8 --backend torch", load("torch int8", fast="int8")[0],
                   "torch dynamic int8 of the Linear layers")

    base_sec = results[0][1]
    ref_f1 = macro_f1(gold, results[1][2])
    table_rows = []
    for name, sec, labels, note in results:
        f1 = macro_f1(gold, labels)
        diff = "" if name.startswith(("(a)", "(b)")) else f"{f1 - ref_f1:+.4f}"
        table_rows.append([name, f"{n / sec:,.0f}", f"{base_sec / sec:.2f}x", f"{f1:.4f}", diff, note])
    table = markdown_table(["path", "segments/s", "speed-up vs (a)", "macro-F1", "F1 - (b)", "notes"], table_rows)
    notes = [f"Model `{args.model}`; {n:,} segments ({len(docs)} documents of the written corpus, all splits, "
             f"repeated; {len(set(texts)):,} distinct texts: predict.py classifies a repeated segment once, the "
             f"pipeline every time); median of {args.runs} timed runs after one warm-up; {args.threads} threads. "
             "Macro-F1 against the gold labels of the same rows (the written corpus, training documents "
             "included: a speed check, not an accuracy figure; see the fast path on the real test split)."
             + (" (a) sees the segment text only, so its F1 is not that of the model as trained with context."
                if fp32.context != "none" else "")]
    write_result("inference_throughput", "Inference throughput (CPU)", table, notes, torch_threads=args.threads,
                 reproduce=f"python bench/inference_throughput.py --model {args.model} --n {args.n} "
                           f"--threads {args.threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
