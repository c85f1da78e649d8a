"""Inference speed of the document model against the sentence-only pipeline:
whole processes, the same distinct segments, one run.

    python bench/document_inference.py [--model models/default] [--baseline models/sentence]
        [--splits dev test] [--runs 1]

Input: every segment of the corpus's dev and test splits (real articles; built at
run time from ../shared/corpora, never stored), each repeated text kept once, so
that neither side gains from classifying a repeated segment once. Written to a
temporary segment table. Timed, each as a whole process from start to exit
(imports, model load, reading, writing included):

(a) `transformers.pipeline("text-classification", model=BASELINE)` over the texts
    (batch 32): the sentence-only model with the same encoder, as a user runs it;
(b) `predict.py TABLE --model MODEL` (fp32; ONNX Runtime on the CPU);
(c) `predict.py TABLE --model MODEL --fast int8`;
(d) `predict.py TABLE --model MODEL --backend torch`.

The ONNX files are exported before timing (predict.py does it once per model
folder). Macro-F1 of each against the gold labels of the same segments says what
the speed costs; the fast path must stay within 0.01 of fp32. Result:
bench/results/document_inference.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, macro_f1, markdown_table, resolve_model, write_result

PIPELINE_SCRIPT = """
import json, sys
from transformers import pipeline
texts = [json.loads(line)["text"] for line in open(sys.argv[2], encoding="utf-8")]
pipe = pipeline("text-classification", model=sys.argv[1], device=-1)
out = pipe(texts, batch_size=32, truncation=True)
with open(sys.argv[3], "w", encoding="utf-8") as f:
    for o in out:
        f.write(json.dumps({"label": o["label"]}) + "\\n")
"""


def distinct_segments(splits: list[str]) -> list[dict]:
    from claimsort.corpus import CorpusPaths, build_corpus

    rows, seen = [], set()
    for r in build_corpus(CorpusPaths(), announce=print):
        if r["split"] in splits and r["text"] not in seen:
            seen.add(r["text"])
            rows.append({"doc_id": r["doc_id"], "sent_id": r["sent_id"], "text": r["text"], "label": r["label"]})
    return rows


def timed(cmd: list[str], runs: int) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-2000:]}")
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="document model folder")
    parser.add_argument("--baseline", default="models/sentence", help="sentence-only model folder (same encoder)")
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--runs", type=int, default=1, help="timed runs per path (median)")
    args = parser.parse_args(argv)
    model, baseline = resolve_model(args.model), resolve_model(args.baseline)
    rows = distinct_segments(args.splits)
    gold = [r["label"] for r in rows]
    n = len(rows)
    print(f"{n} distinct segments of the {'/'.join(args.splits)} splits", flush=True)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = tmp / "segments.jsonl"
        table.write_text("".join(json.dumps({k: r[k] for k in ("doc_id", "sent_id", "text")}) + "\n" for r in rows),
                         encoding="utf-8")
        warm = tmp / "warm.jsonl"
        warm.write_text("".join(table.read_text(encoding="utf-8").splitlines(keepends=True)[:50]), encoding="utf-8")
        for extra in ([], ["--fast", "int8"]):  # export the ONNX files before anything is timed
            timed([py, "predict.py", str(warm), "--model", str(model), "--out", str(tmp / "w.jsonl"), *extra], 1)
            (tmp / "w.jsonl").unlink()
        paths = [
            ("(a) transformers.pipeline, sentence-only model", [py, "-c", PIPELINE_SCRIPT, str(baseline), str(table)],
             f"`{args.baseline}`, batch 32, input order"),
            ("(b) predict.py fp32 (ONNX Runtime)", [py, "predict.py", str(table), "--model", str(model)],
             f"`{args.model}`"),
            ("(c) predict.py --fast int8", [py, "predict.py", str(table), "--model", str(model), "--fast", "int8"],
             "fused graph, int8 weights (encoder)"),
            ("(d) predict.py --backend torch", [py, "predict.py", str(table), "--model", str(model), "--backend",
                                                "torch"], "PyTorch fp32"),
        ]
        results = []
        for name, cmd, note in paths:
            out = tmp / f"out-{len(results)}.jsonl"
            sec = timed(cmd + [str(out)] if name.startswith("(a)") else cmd + ["--out", str(out)], args.runs)
            labels = [json.loads(line)["label"] for line in out.read_text(encoding="utf-8").splitlines()]
            assert len(labels) == n, f"{name}: {len(labels)} outputs for {n} segments"
            results.append((name, sec, labels, note))
            print(f"{name}: {sec:.1f} s, {n / sec:.0f} segments/s", flush=True)
    base = results[0][1]
    fp32_f1 = macro_f1(gold, results[1][2])
    table_rows = [[name, f"{sec:.1f}", f"{n / sec:,.0f}", f"{base / sec:.2f}x", f"{macro_f1(gold, labels):.4f}",
                   "" if i < 2 else f"{macro_f1(gold, labels) - fp32_f1:+.4f}", note]
                  for i, (name, sec, labels, note) in enumerate(results)]
    table = markdown_table(["path (whole process)", "wall s", "segments/s", "speed-up vs (a)", "macro-F1",
                            "F1 - (b)", "notes"], table_rows)
    notes = [f"{n:,} distinct segments (every text once) of the real {'/'.join(args.splits)} splits, as one "
             "segment table; wall time of each whole process (imports, load, read, write included); "
             f"median of {args.runs} run(s). Macro-F1 against the gold labels of the same segments (the "
             "document model reads each segment with the others of its article, in table order)."]
    write_result("document_inference", "Inference: document model vs the sentence-only pipeline", table, notes,
                 reproduce=f"python bench/document_inference.py --model {args.model} --baseline {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
