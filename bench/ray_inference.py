"""The Ray engine against predict.py, and what the sharding fix saves under
accelerate launch: whole processes, the same distinct input, one run.

    python bench/ray_inference.py [--model models/default] [--docs 300] [--before-rev main]

Input: `--docs` distinct documents built from the repository's own written
articles (data/written): each article in turn as a .txt, .md or .html file or a
record of a JSONL article table, with a headline of its own and its paragraphs
rotated, so that no two documents are the same. Written to a temporary folder.

Timed, each as a whole process from start to exit (imports, cluster start, model
load, reading, writing included), and, from predict.py's own summary line, the
run without the process start:

(a) `predict.py IN --model MODEL` (one process);
(b) `predict.py IN --model MODEL --engine ray --ray-workers 1` (a local cluster);
(c) the same with `--ray-workers 2`.

Then the CPU time spent reading and segmenting (claimsort.io.documents._read_bytes and
_document_from_text, counted by bench/_reading_probe.py) under `accelerate launch
--num_processes 2 predict.py`, summed over both processes, per distinct document:
before (git `--before-rev`'s code, exported to a temporary folder: every process
reads and segments every document and skips the chunks not its own) and after
(this checkout: each process reads and segments only its own chunks).

The model folder is copied to a temporary folder first (its cached ONNX files
with it), so that nothing is written into it. Results:
bench/results/ray_inference.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, group_documents, markdown_table, read_written, write_result

SCALING = """**How the design scales to N machines, and where it stops.** The costly work scales out: read/segment
tasks run on every node's CPUs and each node adds classifier actors (one model each, a GPU each where there are
GPUs), and Ray Data streams with backpressure, so a node's memory is bounded by its object-store budget, not by the
input. What does not scale out is the driver, one process on one machine: (1) it lists every input file
(expand_inputs, document_names, one stat each for the resume check) and holds the list, so millions of small files
cost minutes and memory before the first task starts; (2) every output row comes back to it over the network and it
alone writes the parts, so the output rate is capped by one process encoding JSON and one disk (around what one
core writes, tens of thousands of rows/s); (3) the final merge is a single sequential writer that reads every part
again (with `--out FOLDER` one Parquet file per input file, still written by the driver); (4) pickled documents and
output rows pass through the object store, which spills to disk when the classifiers fall behind the readers.
Granularity is the input file: one huge table is read by one task and is redone from its start after a crash.
Beyond that the next steps would be actors writing their rows straight to shared storage (the driver collecting
only the per-file metas), tables split by Parquet row group or byte range, and no merge (the folder output).
Under accelerate launch every process still enumerates every work unit (a listing, and a parse of each table line
or row, not its segmenting): with many processes over segment tables, which need no segmenting, that repeated parse
is what stops the reading from scaling."""
SUMMARY = re.compile(r"(\d+) documents, (\d+) segments -> .* \(([\d.]+) s, ")


def build_inputs(folder: Path, n_docs: int) -> None:
    """n_docs distinct documents in four formats (see the module's docstring)."""
    base = group_documents(read_written())
    records = []
    folder.mkdir(parents=True)
    for i in range(n_docs):
        doc = base[i % len(base)]
        texts = [r["text"] for r in doc]
        k = (i // len(base)) % max(1, len(texts) - 1)
        body = texts[1:][k:] + texts[1:][:k]  # rotated: a distinct document on each pass
        headline = f"Bulletin {i}: {texts[0]}"
        kind = i % 4
        if kind == 0:
            (folder / f"doc{i:04d}.txt").write_text("\n".join([headline, *body]) + "\n", encoding="utf-8")
        elif kind == 1:
            (folder / f"doc{i:04d}.md").write_text(f"# {headline}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        elif kind == 2:
            import html

            paragraphs = "".join(f"<p>{html.escape(t)}</p>" for t in body)
            (folder / f"doc{i:04d}.html").write_text(f"<html><body><h1>{html.escape(headline)}</h1><article>"
                                                     f"{paragraphs}</article></body></html>", encoding="utf-8")
        else:
            records.append({"doc_id": f"rec{i:04d}", "text": "\n".join([headline, *body])})
    with open(folder / "records.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def timed(cmd: list[str], env: dict) -> tuple[float, dict]:
    """Wall seconds of the whole process, and predict.py's summary line's figures."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed:\n{proc.stderr[-3000:]}")
    m = SUMMARY.search(proc.stderr)
    return wall, {"documents": int(m.group(1)), "segments": int(m.group(2)), "run_s": float(m.group(3))}


def accelerate_cmd(python: str, port: int) -> list[str]:
    accelerate = shutil.which("accelerate", path=os.path.dirname(python)) or "accelerate"
    return [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision",
            "no", "--dynamo_backend", "no", "--main_process_port", str(port)]


def reading_cpu(checkout: Path, inputs: Path, model: Path, out: Path, probe_dir: Path, env: dict, port: int) -> dict:
    """accelerate launch --num_processes 2 of `checkout`'s predict.py under the probe."""
    run_env = {**env, "PYTHONPATH": str(checkout), "CLAIMSORT_PROBE_DIR": str(probe_dir), "OMP_NUM_THREADS": "1"}
    cmd = accelerate_cmd(sys.executable, port) + [str(ROOT / "bench" / "_reading_probe.py"),
                                                  str(checkout / "predict.py"), str(inputs), "--model", str(model),
                                                  "--out", str(out), "--no-progress", "--chunk-docs", "16"]
    wall, summary = timed(cmd, run_env)
    ranks = [json.loads(p.read_text()) for p in sorted(probe_dir.glob("rank-*.json"))]
    assert len(ranks) == 2, f"{len(ranks)} probe files in {probe_dir}"
    assert all(r["claimsort"].startswith(str(checkout)) for r in ranks), [r["claimsort"] for r in ranks]
    return {"wall_s": wall, **summary, "cpu_s": sum(r["cpu_s"] for r in ranks),
            "documents_segmented": sum(r["documents_segmented"] for r in ranks),
            "per_rank": [{k: r[k] for k in ("documents_segmented", "files_read", "cpu_s")} for r in ranks]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="model folder (copied to a temporary folder)")
    parser.add_argument("--docs", type=int, default=300, help="distinct documents")
    parser.add_argument("--before-rev", default="main", help="git revision of the code before the sharding fix")
    args = parser.parse_args(argv)
    model_src = Path(args.model)
    if not model_src.is_absolute() and not model_src.exists():
        model_src = ROOT / args.model
    if not ((model_src / "config.json").is_file() or (model_src / "tfidf.json").is_file()):
        raise SystemExit(f"{args.model}: not a model folder; train one first (make train) or pass --model")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    py = sys.executable
    results: dict = {"docs": args.docs, "model": args.model}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tmp / "model"
        shutil.copytree(model_src, model, ignore=shutil.ignore_patterns("checkpoints", "eval", "wandb"))
        inputs = tmp / "in"
        build_inputs(inputs, args.docs)
        # warm: the ONNX export (if the copied folder lacks it) is not timed
        warm = tmp / "warm"
        warm.mkdir()
        shutil.copy(next(inputs.glob("*.txt")), warm)
        timed([py, "predict.py", str(warm), "--model", str(model), "--out", str(tmp / "warm.jsonl"),
               "--no-progress"], env)

        paths = [("(a) predict.py, one process", []),
                 ("(b) --engine ray --ray-workers 1", ["--engine", "ray", "--ray-workers", "1"]),
                 ("(c) --engine ray --ray-workers 2", ["--engine", "ray", "--ray-workers", "2"])]
        outputs, rows = [], []
        for name, extra in paths:
            out = tmp / f"out-{len(outputs)}.jsonl"
            wall, summary = timed([py, "predict.py", str(inputs), "--model", str(model), "--out", str(out),
                                   "--no-progress", *extra], env)
            outputs.append([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
            n = summary["segments"]
            rows.append({"path": name, "wall_s": round(wall, 1), "run_s": summary["run_s"], "segments": n,
                         "documents": summary["documents"], "segments_per_s_wall": round(n / wall, 1),
                         "segments_per_s_run": round(n / summary["run_s"], 1)})
            print(rows[-1], flush=True)
        reference = outputs[0]
        for out, row in zip(outputs[1:], rows[1:]):
            same_rows = [(r["doc_id"], r["sent_id"], r["label"]) for r in out] == \
                [(r["doc_id"], r["sent_id"], r["label"]) for r in reference]
            max_dp = max((abs(a[k] - b[k]) for a, b in zip(out, reference) for k in a if k.startswith("p_")),
                         default=0.0)
            row.update(same_rows_and_labels=same_rows, max_probability_difference=max_dp)
        results["engines"] = rows

        before_src = tmp / "before"
        before_src.mkdir()
        archive = subprocess.run(["git", "archive", args.before_rev, "predict.py", "claimsort"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before_src)], input=archive, check=True)
        sharding = {}
        for label, checkout, port in (("before", before_src, 29561), ("after", ROOT, 29562)):
            sharding[label] = reading_cpu(checkout, inputs, model, tmp / f"acc-{label}.jsonl", tmp / f"probe-{label}",
                                          env, port)
            sharding[label]["cpu_ms_per_document"] = round(1000 * sharding[label]["cpu_s"] / args.docs, 2)
            print(label, sharding[label], flush=True)
        same = (tmp / "acc-before.jsonl").read_bytes() == (tmp / "acc-after.jsonl").read_bytes()
        results["sharding"] = {**sharding, "before_rev": args.before_rev, "outputs_identical": same}

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ray_inference.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown_table(
        ["path (whole process)", "wall s", "segments/s (wall)", "run s", "segments/s (run)", "same rows, labels",
         "max Δp"],
        [[r["path"], f"{r['wall_s']:.1f}", f"{r['segments_per_s_wall']:,.0f}", f"{r['run_s']:.1f}",
          f"{r['segments_per_s_run']:,.0f}", {True: "yes", False: "NO"}.get(r.get("same_rows_and_labels"), "(ref)"),
          f"{r['max_probability_difference']:.0e}" if "max_probability_difference" in r else ""] for r in rows])
    b, a = results["sharding"]["before"], results["sharding"]["after"]
    table2 = markdown_table(
        ["accelerate launch --num_processes 2", "documents segmented (both processes)",
         "reading + segmenting CPU s", "CPU ms per document", "wall s"],
        [[f"before ({args.before_rev}: every process reads everything)", b["documents_segmented"],
          f"{b['cpu_s']:.2f}", f"{b['cpu_ms_per_document']:.2f}", f"{b['wall_s']:.1f}"],
         ["after (each process reads its own chunks)", a["documents_segmented"], f"{a['cpu_s']:.2f}",
          f"{a['cpu_ms_per_document']:.2f}", f"{a['wall_s']:.1f}"]])
    n_seg = rows[0]["segments"]
    notes = [f"{args.docs} distinct documents ({n_seg:,} segments) built from the written articles: .txt, .md, "
             ".html files and a JSONL article table. Wall: the whole process (for Ray: starting a local cluster "
             "and its workers, each loading the model); run: predict.py's own figure, from the first input read "
             "to the output written (for Ray: listing, the Ray Data pipeline, merge). Ray's CPU workers each run "
             "one model with one thread; predict.py's single process uses the ONNX Runtime default. "
             "max Δp: largest difference of a probability from (a), row by row.",
             "",
             table2,
             "",
             f"Reading + segmenting: CPU time inside claimsort.io.documents._read_bytes and _document_from_text "
             f"(bench/_reading_probe.py), summed over both processes, per distinct document; outputs of before and "
             f"after byte-identical: {'yes' if results['sharding']['outputs_identical'] else 'NO'}."]
    notes += ["", "With N CPU workers on a machine without N + 1 free cores, the workers compete with one another, "
              "the read tasks, the driver and Ray's daemons: a worker pays off when it has a core (or a GPU) to "
              "itself.", "", SCALING]
    write_result("ray_inference", "The Ray engine, and the sharded reading of accelerate launch", table, notes,
                 reproduce=f"python bench/ray_inference.py --model {args.model} --docs {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
