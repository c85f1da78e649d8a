"""Peak memory of predict.py end to end, on a small and a large input.

    python bench/memory.py [--model models/default] [--sizes 10000 200000]
        [--fast int8|none] [--threads 2] [--per-doc 30] [--keep DIR]

Each size is a generated .jsonl segment table: the written corpus rows cycled in
order, cut into documents of --per-doc segments with new doc_ids. Each run is
`.venv/bin/python predict.py INPUT --model M --out OUT.jsonl --no-progress
--fast F --threads T` in a fresh process; its peak RSS is taken as the kernel's
ru_maxrss of that process (through /usr/bin/time -v when present, otherwise a
fresh wrapper process reading getrusage(RUSAGE_CHILDREN)), with psutil polling
(every 0.1 s) as a cross-check. The same flags are used for every size:
--fast int8 by default (predict.py's CPU default backend, ONNX Runtime), because
fp32 over 200,000 segments takes over 10 minutes on 2 cores. Target: the largest input's peak at most 1.2x the smallest's.
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
import threading
import time
from pathlib import Path

from _common import ROOT, markdown_table, read_written, resolve_model, write_result  # noqa: E402


def make_input(path: Path, n_segments: int, per_doc: int) -> int:
    rows = read_written()
    with open(path, "w", encoding="utf-8") as f:
        for k in range(n_segments):
            row = rows[k % len(rows)]
            f.write(json.dumps({"doc_id": f"mem-{k // per_doc:07d}", "sent_id": k % per_doc,
                                "text": row["text"]}, ensure_ascii=False) + "\n")
    return path.stat().st_size


def poll_peak(pid: int, stop: threading.Event, out: dict) -> None:
    """Largest RSS seen of the process `pid` and its descendants."""
    import psutil

    peak = 0
    try:
        proc = psutil.Process(pid)
        while not stop.is_set():
            try:
                procs = [proc] + proc.children(recursive=True)
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)
    except psutil.Error:
        pass
    out["peak"] = peak


WRAPPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
           "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
           "sys.exit(rc)")


def run_predict(cmd: list[str]) -> dict:
    """Run cmd; its peak RSS (bytes, ru_maxrss), psutil-sampled peak and seconds."""
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    if gnu_time:
        full, how = ["/usr/bin/time", "-v"] + cmd, "/usr/bin/time -v"
    else:
        full, how = [sys.executable, "-c", WRAPPER] + cmd, "getrusage(RUSAGE_CHILDREN)"
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(full, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stop, polled = threading.Event(), {}
    poller = threading.Thread(target=poll_peak, args=(proc.pid, stop, polled), daemon=True)
    poller.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    poller.join()
    if proc.returncode != 0:
        raise SystemExit(f"predict.py failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    if gnu_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    else:
        m = re.search(r"MAXRSS_KB (\d+)", stderr)
    maxrss = int(m.group(1)) * 1024 if m else 0
    summary = next((line for line in stderr.splitlines() if "segments ->" in line), "")
    return {"maxrss": maxrss, "polled": polled.get("peak", 0), "seconds": seconds, "how": how, "summary": summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="model folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000], help="segments per input")
    parser.add_argument("--fast", choices=["none", "int8"], default="int8",
                        help="predict.py --fast, the same for every size (default int8: fp32 is too slow for 200k)")
    parser.add_argument("--threads", type=int, default=2, help="predict.py --threads")
    parser.add_argument("--per-doc", type=int, default=30, help="segments per generated document")
    parser.add_argument("--keep", help="keep the generated inputs and outputs in this folder")
    parser.add_argument("--target", type=float, default=1.2, help="allowed ratio largest/smallest peak")
    args = parser.parse_args(argv)

    model = resolve_model(args.model)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="claimsort-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    python = ROOT / ".venv" / "bin" / "python"
    python = str(python) if python.exists() else sys.executable
    results = []
    try:
        for size in sorted(args.sizes):
            src = work / f"segments-{size}.jsonl"
            nbytes = make_input(src, size, args.per_doc)
            out = work / f"predictions-{size}.jsonl"
            for leftover in (out, out.with_name(out.name + ".parts")):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                elif leftover.exists():
                    leftover.unlink()
            cmd = [python, "predict.py", str(src), "--model", str(model), "--out", str(out), "--no-progress",
                   "--fast", args.fast, "--threads", str(args.threads)]
            print(f"{size:,} segments ({nbytes / 2**20:.1f} MiB input): {' '.join(cmd[1:])}", flush=True)
            r = run_predict(cmd)
            with open(out, encoding="utf-8") as f:
                n_out = sum(1 for _ in f)
            if n_out != size:
                raise SystemExit(f"predict.py wrote {n_out} rows for {size} segments")
            print(f"  peak RSS {r['maxrss'] / 2**20:.0f} MiB (psutil {r['polled'] / 2**20:.0f} MiB), "
                  f"{r['seconds']:.0f} s; {r['summary']}", flush=True)
            results.append((size, nbytes, r))
            if not args.keep:
                out.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    base = results[0][2]["maxrss"]
    rows = []
    for size, nbytes, r in results:
        rows.append([f"{size:,}", f"{size // args.per_doc + (size % args.per_doc > 0):,}", f"{nbytes / 2**20:.1f}",
                     f"{r['maxrss'] / 2**20:.0f}", f"{r['polled'] / 2**20:.0f}", f"{r['maxrss'] / base:.2f}x",
                     f"{r['seconds']:.0f}", f"{size / r['seconds']:.0f}"])
    table = markdown_table(["segments", "documents", "input MiB", "peak RSS MiB", "peak RSS MiB (psutil 0.1 s)",
                            "vs smallest", "wall s", "segments/s (incl. start-up)"], rows)
    ratio = results[-1][2]["maxrss"] / base
    verdict = "meets" if ratio <= args.target else "MISSES"
    notes = [f"`predict.py --fast {args.fast} --threads {args.threads} --no-progress`, the same flag for every "
             f"size, model `{args.model}`; inputs: the written corpus rows cycled, {args.per_doc} segments per "
             f"document. Peak RSS is the kernel's ru_maxrss of the predict.py process ({results[0][2]['how']}).",
             f"Largest/smallest peak: {ratio:.2f}x ({verdict} the target of at most {args.target}x)."]
    sizes = " ".join(str(s) for s in args.sizes)
    write_result("memory", "Peak memory of predict.py", table, notes, torch_threads=args.threads,
                 reproduce=f"python bench/memory.py --model {args.model} --sizes {sizes} --fast {args.fast}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
