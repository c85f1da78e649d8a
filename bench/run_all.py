"""Run every benchmark and rewrite BENCHMARKS.md from bench/results/.

    python bench/run_all.py [--model models/default] [--config configs/default.yaml]
        [--threads 2] [--quick] [--only NAME ...] [--skip NAME ...]
        [--results-dir bench/results] [--benchmarks-md BENCHMARKS.md] [--no-write-md]

`make bench` runs this. Each benchmark runs in its own process (bench/<name>.py)
and writes bench/results/<name>.md; BENCHMARKS.md is then rebuilt from every
results file present (so a partial run with --only keeps the other sections).
--quick uses small sizes, to check the scripts end to end (numbers not meant for
BENCHMARKS.md: combine with --results-dir / --benchmarks-md elsewhere).
Names: segmenters, segmentation_throughput, document_inference, seed_article,
inference_throughput, memory, ray_inference, boilerplate_removal, page_structure_cv,
training_throughput. The results that need several trained models
(model_comparison, learning_curve, error_analysis) come from their own scripts.
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, SHARED_CORPORA, machine_line, write_result  # noqa: E402

BENCH = ROOT / "bench"
ORDER = ["segmenters", "segmentation_throughput", "document_inference", "seed_article", "inference_throughput",
         "memory", "ray_inference", "boilerplate_removal", "page_structure_cv", "training_throughput"]

INTRO = """# Benchmarks

What claimsort costs and what it gets, measured by the scripts in `bench/`.
`make bench` runs them all (`bench/run_all.py`) and rewrites this file from
their results (`bench/results/<name>.md`); each section says how to run it alone.
CPU numbers are for the machine named in each section's header line (the
project's reference machine has 2 cores); timings on a loaded machine (see the
load average) are slower than they would be on an idle one.
"""

PURPOSE = {
    "segmenters": "Sentence splitters compared on the hand-made boundary gold "
                  "(tests/fixtures/sentence_gold.txt, exact sentences) and on speed over the PTC train "
                  "articles: the evidence for using syntok.",
    "segmentation_throughput": "The chosen segmenter as claimsort runs it, on plain text and on HTML pages.",
    "document_inference": "The default document model served by predict.py (whole processes) against "
                          "transformers.pipeline('text-classification') of the sentence-only model with the same "
                          "encoder, on the same distinct real segments.",
    "seed_article": "The seed article of the label scheme through predict.py, as text and as Markdown, "
                    "segment by segment against the labels the scheme lists.",
    "inference_throughput": "The sentence-only model's CPU paths: the naive transformers pipeline against the "
                            "predict.py paths (fp32 and --fast int8, each in ONNX Runtime, predict.py's CPU "
                            "default, and in PyTorch), on the same model and segments.",
    "memory": "predict.py streams its input in chunks of documents, so its memory should not grow with "
              "the input: peak RSS on a small and a 20x larger input.",
    "ray_inference": "predict.py --engine ray (Ray Data: CPU read/segment tasks, an actor pool of classifiers) "
                     "against predict.py on the same distinct documents, and the CPU time spent reading and "
                     "segmenting under accelerate launch before and after each process reads only its own "
                     "chunks.",
    "boilerplate_removal": "Dropping the segments predict.py labels boilerplate as a main-text extractor "
                           "(the sentence model with the page-structure model, and the sentence model alone), "
                           "against trafilatura and against keeping all visible text, on real news pages "
                           "held out from training.",
    "page_structure_cv": "The page-structure model alone, cross-validated over every web page: how well it "
                         "generalises to pages it never saw, with and without its trafilatura feature.",
    "training_throughput": "Fine-tuning speed of a run config with the project's Trainer.",
}


def run(name: str, cmd: list[str], env: dict) -> bool:
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    print(f"=== {name}: exit {rc} after {time.perf_counter() - start:.0f} s", flush=True)
    return rc == 0


def run_segmenters(python: str, env: dict, ptc_dir: str) -> bool:
    """bench/segmenters.py prints its table; wrap it in a results file."""
    print(f"\n=== segmenters: bench/segmenters.py --ptc-dir {ptc_dir}", flush=True)
    proc = subprocess.run([python, str(BENCH / "segmenters.py"), "--ptc-dir", ptc_dir], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return False
    table = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("|"))
    notes = ["Precision/recall/F1 of exact sentences against tests/fixtures/sentence_gold.txt; speed in "
             "sentences/s over the PTC train articles, one core (nan when the PTC folder is absent)."]
    write_result("segmenters", "Sentence segmenters", table, notes, torch_threads="n/a",
                 reproduce="python bench/segmenters.py")
    return True


def write_benchmarks_md(results_dir: Path, target: Path) -> None:
    sections = [INTRO.rstrip()]
    # Results that come from training runs (bench/model_comparison.py, make train) lead.
    known = [results_dir / f"{name}.md" for name in ("summary", "model_comparison", "learning_curve", "error_analysis",
                                                     "encoder_comparison", "head_comparison", "head_stage_schedules", "head_stage_windows", "lexical_features", "training_runs", "fast_path_accuracy",
                                                     *ORDER)]
    extra = sorted(p for p in results_dir.glob("*.md") if p not in known)
    for path in known + extra:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8").strip()
        purpose = PURPOSE.get(path.stem)
        if purpose and text.startswith("## "):
            head, _, rest = text.partition("\n")
            text = f"{head}\n\n{purpose}\n{rest}"
        sections.append(text)
    target.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    print(f"\nrewrote {target}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="model folder for the inference benchmarks")
    parser.add_argument("--baseline", default="models/sentence", help="sentence-only model folder (configs/sentence.yaml)")
    parser.add_argument("--config", default="configs/default.yaml", help="config for the training benchmark")
    parser.add_argument("--threads", type=int, default=2, help="torch threads everywhere")
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that everything runs")
    parser.add_argument("--only", nargs="+", choices=ORDER, help="run only these")
    parser.add_argument("--skip", nargs="+", choices=ORDER, default=[], help="do not run these")
    parser.add_argument("--ptc-dir", default=os.environ.get("CLAIMSORT_PTC_DIR") or str(SHARED_CORPORA / "ptc"))
    parser.add_argument("--web-dir", default=os.environ.get("CLAIMSORT_WEB_PAGES_DIR") or str(SHARED_CORPORA / "web-pages"))
    parser.add_argument("--results-dir", default=str(BENCH / "results"), help="where the results files go")
    parser.add_argument("--benchmarks-md", default=str(ROOT / "BENCHMARKS.md"), help="the file rebuilt at the end")
    parser.add_argument("--no-write-md", action="store_true", help="do not rebuild BENCHMARKS.md")
    args = parser.parse_args(argv)

    python = sys.executable
    results_dir = Path(args.results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLAIMSORT_BENCH_RESULTS": str(results_dir), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    os.environ["CLAIMSORT_BENCH_RESULTS"] = str(results_dir)  # for the segmenters wrapper in this process
    import _common
    _common.RESULTS = results_dir

    q = args.quick
    t = str(args.threads)
    commands = {
        "segmentation_throughput": ["--ptc-dir", args.ptc_dir, "--web-dir", args.web_dir] + (["--runs", "1"] if q else []),
        "document_inference": ["--model", args.model, "--baseline", args.baseline],
        "seed_article": ["--model", args.model],
        "inference_throughput": ["--model", args.baseline, "--threads", t] + (["--n", "300"] if q else []),
        "memory": ["--model", args.model, "--threads", t] + (["--sizes", "2000", "20000"] if q else []),
        "ray_inference": ["--model", args.model] + (["--docs", "60"] if q else []),
        "boilerplate_removal": ["--model", args.model, "--threads", t, "--web-dir", args.web_dir]
                               + (["--limit", "10"] if q else []),
        "page_structure_cv": ["--web-dir", args.web_dir] + (["--folds", "2"] if q else []),
        "training_throughput": ["--config", args.config, "--threads", t] + (["--steps", "5"] if q else []),
    }
    selected = [n for n in ORDER if (not args.only or n in args.only) and n not in args.skip]
    print(machine_line(args.threads), flush=True)
    status = {}
    started = time.perf_counter()
    for name in selected:
        if name == "segmenters":
            status[name] = run_segmenters(python, env, args.ptc_dir)
        else:
            status[name] = run(name, [python, str(BENCH / f"{name}.py")] + commands[name], env)
    print(f"\n{datetime.timedelta(seconds=round(time.perf_counter() - started))} in all; "
          + ", ".join(f"{n}: {'ok' if ok else 'FAILED'}" for n, ok in status.items()))
    if not args.no_write_md:
        write_benchmarks_md(results_dir, Path(args.benchmarks_md))
    return 0 if all(status.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
