"""Run predict.py with its reading and segmenting timed: bench/ray_inference.py
launches this under `accelerate launch` in place of predict.py.

    CLAIMSORT_PROBE_DIR=DIR python bench/_reading_probe.py PREDICT_PY ARGS...

Wraps claimsort.io.documents._read_bytes (claimsort.inference._read_bytes before
the package was reorganised) (a text file's bytes) and
_document_from_text (decode checks, HTML extraction, segmenting, markup features)
with CPU-time counters, whichever checkout's claimsort is first on PYTHONPATH (git
main's for "before", this one's for "after"), and writes DIR/rank-<RANK>.json
(calls, CPU seconds) when the process exits.
"""
import atexit
import json
import os
import runpy
import sys
import time
from pathlib import Path

try:  # a checkout from before the package was reorganised: the readers in claimsort.inference
    import claimsort.inference as inference
except ModuleNotFoundError:  # this layout: they live in claimsort.io.documents
    import claimsort.io.documents as inference

counters = {"documents_segmented": 0, "files_read": 0, "cpu_s": 0.0, "claimsort": inference.__file__}


def timed(fn, key):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            counters["cpu_s"] += time.process_time() - start
            counters[key] += 1
    return wrapper


inference._read_bytes = timed(inference._read_bytes, "files_read")
inference._document_from_text = timed(inference._document_from_text, "documents_segmented")


@atexit.register
def _write():
    folder = Path(os.environ["CLAIMSORT_PROBE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank-{os.environ.get('RANK', '0')}.json").write_text(json.dumps(counters))


script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
