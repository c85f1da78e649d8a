"""Classify every segment of an article collection.

    python predict.py INPUT... --model models/default --out predictions.jsonl
        [--summary docs.csv] [--html pages/] [--fast int8] [--backend auto|torch|onnx] [--strict]

INPUT: files, folders (recursively) or globs of .txt, .md, .html/.htm (also
gzipped), .jsonl (segment tables or article records), .csv and .parquet with a
text column, or - for standard input. Output by extension: .jsonl, .csv or
.parquet, one row per segment (doc_id, sent_id, text, label, p_<label> for each
label, source_file). Streams in chunks of documents; an interrupted run
restarted with the same arguments resumes where it stopped, provided its input
files are unchanged (size and modification time; a changed one is refused, or
with --overwrite the run is redone). An existing output, or a non-empty --html
folder, is replaced only with --overwrite. Bad input is reported with its file
and line and skipped (--strict makes it fatal); when no document could be read at
all, nothing is written and the exit status is 2.

doc_id: a file's name without its suffix, or, when two inputs share one
(x/report.md, y/report.md), its path below the folder the inputs share. An
article record (.jsonl/.csv/.parquet) takes it from --id-column, else doc_id or
id; its text is Markdown or HTML when its `format` field says so (text,
markdown, html), else when its source field (source_file, source, path, file,
filename or url) ends in .md or .html, else when it sits in a `markdown` or
`html` column; its other columns are kept on each of its rows. Standard input is
HTML when it starts with an HTML tag, else plain text.
Several processes: accelerate launch predict.py ... (each process reads, segments
and classifies its own chunks; one merged ordered output). A Ray cluster:
--engine ray [--ray-address auto] [--ray-workers N] (claimsort/batch_ray.py; --out
may then also be a folder, written as a Parquet dataset).
"""
import argparse
import logging
import os
import sys
from pathlib import Path

from claimsort.cli import fail_cleanly


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Classify every segment of an article collection.")
    parser.add_argument("inputs", nargs="+", help="files, folders, globs, or - for standard input")
    parser.add_argument("--model", required=True, help="model folder (transformer or tfidf)")
    parser.add_argument("--out", required=True, help="output file: .jsonl, .csv or .parquet")
    parser.add_argument("--summary", help="per-document summary (share of each label): .jsonl, .csv or .parquet")
    parser.add_argument("--html", help="folder for one highlighted HTML page per document "
                                       "(<number>-<doc_id>.html, numbered in input order)")
    parser.add_argument("--fast", choices=["none", "int8"], default="none",
                        help="CPU fast path: int8 = dynamic int8 quantization of the weights (with the onnx "
                             "backend also a fused graph); its accuracy beside fp32 is in BENCHMARKS.md")
    parser.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                        help="transformer runtime: onnx = ONNX Runtime (exported once into <model>/onnx/), "
                             "torch = PyTorch; auto = onnx on the CPU, torch on a GPU (and where the export fails)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="segments per forward pass (on a GPU, more: 256 or so)")
    parser.add_argument("--chunk-docs", type=int, default=64, help="documents per chunk (unit of streaming and resume)")
    parser.add_argument("--text-column", default="text", help="text column of .csv/.parquet/.jsonl article records")
    parser.add_argument("--id-column", help="document id column of .csv/.parquet/.jsonl article records")
    parser.add_argument("--threads", type=int, help="CPU threads (torch; ONNX Runtime runs this many batches at once)")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad input instead of skipping it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output and summary, clear the .html pages of an earlier run from "
                             "the --html folder, and redo an interrupted run whose inputs changed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local = this process (or accelerate launch's processes); ray = a Ray cluster: "
                             "CPU tasks read and segment, an actor pool classifies (claimsort/batch_ray.py)")
    parser.add_argument("--ray-address", help="--engine ray: an existing cluster (auto = the one `ray start` "
                                              "runs on this machine, or ray://HOST:10001); default: start a "
                                              "local one")
    parser.add_argument("--ray-workers", type=int, help="--engine ray: classifier actors, one model each "
                                                        "(default: one per GPU, else the CPUs less one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from claimsort.batch import check_outputs, predict
    from claimsort.io.tables import output_format
    from claimsort.io.errors import InputError

    if args.engine == "ray":
        return run_ray(args)
    from claimsort.modeling.loading import load_classifier

    try:  # fail on a bad output name or chunk size, or a finished output, before loading anything
        if not (args.engine == "ray" and is_folder_output(args.out)):
            output_format(args.out)
        if args.summary:
            output_format(args.summary)
        if args.chunk_docs < 1 or args.batch_size < 1:
            raise InputError("--chunk-docs and --batch-size must be at least 1")
        check_outputs(args.out, args.summary, args.html, args.overwrite)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cuda = False
    # a TF-IDF model runs without torch: do not pay for importing it
    if args.threads or distributed or not (Path(args.model) / "tfidf.json").is_file():
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        cuda = torch.cuda.is_available()

    rank, world_size, barrier = 0, 1, (lambda: None)
    device = "cuda" if cuda and args.fast == "none" else None
    if distributed:
        from accelerate import PartialState

        state = PartialState(cpu=not cuda)
        rank, world_size, barrier = state.process_index, state.num_processes, state.wait_for_everyone
        device = str(state.device) if device else None
    classifier = load_classifier(args.model, fast=args.fast, device=device, backend=args.backend)
    try:
        stats = predict(args.inputs, classifier, args.out, chunk_docs=args.chunk_docs, batch_size=args.batch_size,
                        summary=args.summary, html_dir=args.html, strict=args.strict, text_column=args.text_column,
                        id_column=args.id_column, progress=not args.no_progress, rank=rank, world_size=world_size,
                        barrier=barrier, run_key={"model": str(args.model), "fast": args.fast, "backend": args.backend,
                                                  "chunk_docs": args.chunk_docs, "text_column": args.text_column,
                                                  "id_column": args.id_column, "summary": args.summary,
                                                  "html": args.html},
                        overwrite=args.overwrite)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return report(stats, args.out, f"{world_size} process(es)") if rank == 0 else 0


def is_folder_output(out: str) -> bool:
    """--engine ray writes a Parquet dataset into --out when it names a folder: one
    that exists, or a name without a suffix."""
    return Path(out).is_dir() or not Path(out).suffix


def report(stats, out: str, processes: str, resumed_what: str = "chunks") -> int:
    for issue in stats.issues:
        print(f"skipped: {issue}", file=sys.stderr)
    if not stats.documents:
        print(f"error: no document could be read: {len(stats.issues)} inputs skipped (see above); nothing "
              f"written to {out}", file=sys.stderr)
        return 2
    resumed = f", {stats.skipped_chunks} {resumed_what} resumed from an earlier run" if stats.skipped_chunks else ""
    print(f"{stats.documents} documents, {stats.segments} segments -> {out} "
          f"({stats.seconds:.1f} s, {stats.segments / max(stats.seconds, 1e-9):.0f} segments/s); "
          f"{len(stats.issues)} inputs skipped{resumed}; {processes}", file=sys.stderr)
    return 0


def run_ray(args) -> int:
    """--engine ray: the same output, computed on a Ray cluster (claimsort/batch_ray.py)."""
    from claimsort.io.errors import InputError

    if args.summary or args.html:
        print("error: --summary and --html are not supported with --engine ray (yet); run predict.py without "
              "--engine ray for them", file=sys.stderr)
        return 2
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        print("error: --engine ray is one driver process; do not start it with accelerate launch", file=sys.stderr)
        return 2
    if args.ray_workers is not None and args.ray_workers < 1:
        print("error: --ray-workers must be at least 1", file=sys.stderr)
        return 2
    from claimsort.batch_ray import predict_ray

    try:
        stats = predict_ray(args.inputs, args.model, args.out, fast=args.fast, backend=args.backend,
                            batch_size=args.batch_size, chunk_docs=args.chunk_docs, strict=args.strict,
                            text_column=args.text_column, id_column=args.id_column, workers=args.ray_workers,
                            address=args.ray_address, threads=args.threads, overwrite=args.overwrite,
                            progress=not args.no_progress,
                            run_key={"model": str(args.model), "fast": args.fast, "backend": args.backend,
                                     "text_column": args.text_column, "id_column": args.id_column})
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return report(stats, args.out, "ray engine", resumed_what="input files")


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
