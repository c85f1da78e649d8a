"""Batch inference on a Ray cluster: ``predict.py INPUT... --engine ray``.

The pipeline, as Ray Data runs it (streaming: no stage, the driver included,
holds the whole input):

1. The driver lists the input files exactly as predict.py does (folders, globs,
   the run's own files passed by, "no matching files" reported) and makes the list
   a Ray dataset, one row per file (``ray.data.from_items``).
2. CPU tasks (``map_batches`` with a function) read each file with predict.py's
   own reader (``io.documents.documents_of_path``: text, Markdown, HTML, gzip, JSONL /
   CSV / Parquet tables), segment and featurise it, and emit one row per document
   (its file's number, its place in the file, the pickled Document, the issues met
   before it), then one closing row per file.
3. An actor pool (``map_batches`` with a class, ``ActorPoolStrategy``): one model
   per actor, loaded once (``modeling.loading.load_classifier``, the fast paths of
   predict.py), a GPU per actor where the cluster has GPUs, else CPU actors;
   ``modeling.classify.classify_documents`` and ``io.tables.rows_for_document`` make the
   output rows, as predict.py does.
4. The driver streams the results (a batch at a time) into ``<out>.parts/``: the
   rows of each input file, per batch, in a file written atomically; when all of an
   input file's rows are in, a meta file (written last) marks the file done. At the
   end ``io.tables.merge_parts`` concatenates the parts in input order, so the
   output is ordered however Ray scheduled the work.

Why not ``read_binary_files`` and ``write_parquet``: a missing file, a broken link
or a bad gzip must be an issue with its file, not a failed read task; a text
file's doc_id depends on the other inputs' names (``document_names``); and Ray's
writers name their files per block and run, so neither the order nor the columns
(a column only some inputs have) would be predict.py's.

Rerun after a failure: the parts folder is the resume state. Input files whose
meta file exists are not read again; a file without one (a crash half-way) is
redone from its start, its partial parts deleted. As for predict.py, a changed
input or other arguments are refused (or, with --overwrite, redone).

Within a run, Ray retries (Ray Data's defaults for map_batches): a killed
classifier actor is restarted (``max_restarts=-1``) and its unfinished batch is
run again on a live actor (``max_task_retries=-1``); a read task lost with its
worker is retried (``max_retries=-1``). Each input file's rows are written by the
driver keyed by (file, place in file), so a retried batch overwrites, never
duplicates.

Probabilities are predict.py's to 1e-5: documents are batched as Ray's blocks
arrive, so the padding of a forward pass, and with it the last float digit, can
differ from predict.py's chunks; rows, order and labels are the same.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np

from claimsort.io.tables import OUTPUT_COLUMNS, merge_parts, output_format, rows_for_documents
from claimsort.io.errors import InputError, Issue
from claimsort.batch import PredictStats, _read_meta, _run_key, check_outputs, open_parts_dir
from claimsort.io.inputs import _expand_one, _paths, document_names, input_identity
from claimsort.io.files import write_atomic
from claimsort.modeling.classify import classify_documents
from claimsort.io.documents import documents_of_path

ROOT = Path(__file__).resolve().parents[1]
# Test hook (fault tolerance): a classifier actor that finds the file this variable
# names takes it (renames it to <name>.taken, holding its pid) and exits at once, in
# the middle of its batch, as a worker killed by the OOM killer or a lost node would.
CRASH_ONCE_ENV = "CLAIMSORT_RAY_CRASH_ONCE"


# --------------------------------------------------------------------------- #
# Stage 2: read and segment (CPU tasks)
# --------------------------------------------------------------------------- #
def read_and_segment(batch: dict, *, text_column: str, id_column: str | None, rows_per_batch: int):
    """Documents of each input file of `batch`, one row each, yielded a few at a time
    so that a large table streams. The closing row of a file (document empty,
    last=True) carries the issues met after its last document."""
    out: list[tuple] = []

    def flush():
        rows = {"file_index": np.array([r[0] for r in out], dtype=np.int64),
                "seq": np.array([r[1] for r in out], dtype=np.int64),
                "last": np.array([r[2] for r in out], dtype=bool),
                "document": np.array([r[3] for r in out], dtype=object),
                "issues": np.array([r[4] for r in out], dtype=object)}
        out.clear()
        return rows

    for file_index, path, doc_id in zip(batch["file_index"], batch["path"], batch["doc_id"]):
        issues: list[Issue] = []
        seq = 0
        # strict is the driver's business: here every issue is reported, never raised
        for doc in documents_of_path(str(path), str(doc_id) or None, issues, False, text_column, id_column):
            out.append((int(file_index), seq, False, pickle.dumps(doc, protocol=5),
                        json.dumps([i.__dict__ for i in issues])))
            issues.clear()
            seq += 1
            if len(out) >= rows_per_batch:
                yield flush()
        out.append((int(file_index), seq, True, b"", json.dumps([i.__dict__ for i in issues])))
    if out:
        yield flush()


# --------------------------------------------------------------------------- #
# Stage 3: classify (actor pool, one model per actor)
# --------------------------------------------------------------------------- #
class DocumentClassifierActor:
    """One loaded classifier; each call classifies a batch of documents and returns
    their output rows as JSONL text (one cell per document row)."""

    def __init__(self, model: str, fast: str, backend: str, device: str | None, threads: int, batch_size: int):
        import torch

        from claimsort.modeling.loading import load_classifier

        torch.set_num_threads(threads)
        self.batch_size = batch_size
        self.classifier = load_classifier(model, fast=fast, device=device, backend=backend)

    def __call__(self, batch: dict) -> dict:
        armed = os.environ.get(CRASH_ONCE_ENV)
        if armed and os.path.exists(armed):
            try:
                os.replace(armed, armed + ".taken")  # atomic: one actor only
            except OSError:
                pass
            else:
                Path(armed + ".taken").write_text(str(os.getpid()))
                os._exit(1)  # no cleanup, no exception: the process is gone, as after a kill -9
        docs = [pickle.loads(b) for b in batch["document"] if len(b)]
        rows_by_doc = iter(rows_for_documents(docs, classify_documents(self.classifier, docs, self.batch_size)))
        texts, segments = [], []
        for b in batch["document"]:
            rows = next(rows_by_doc) if len(b) else []
            texts.append("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            segments.append(len(rows))
        return {"file_index": batch["file_index"], "seq": batch["seq"], "last": batch["last"],
                "issues": batch["issues"], "has_document": np.array([len(b) > 0 for b in batch["document"]]),
                "segments": np.array(segments, dtype=np.int64), "rows": np.array(texts, dtype=object)}


# --------------------------------------------------------------------------- #
# The driver
# --------------------------------------------------------------------------- #
def _runtime_env(address: str | None, threads: int) -> dict:
    """Workers import claimsort from this checkout, not whatever claimsort their
    Python has installed: PYTHONPATH on this machine; on a remote cluster the
    package itself is shipped (py_modules)."""
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
                        "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": str(threads),
                        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}}
    if address is not None:  # an existing cluster: its other nodes may not have this checkout
        env["py_modules"] = [str(ROOT / "claimsort")]
    return env


def connect(address: str | None = None, threads: int = 1, num_cpus: int | None = None):
    """ray.init, unless this process is already connected (a test's cluster):
    `address` None starts a local cluster on this machine (no dashboard)."""
    import ray

    if not ray.is_initialized():
        # "local": a new cluster of this process's own, never one that `ray start` left running
        ray.init(address=address or "local", num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 runtime_env=_runtime_env(address, threads), logging_level="WARNING", log_to_driver=True)
    return ray


def _piece_name(file_index: int, seq: int) -> str:
    return f"f{file_index:07d}-{seq:09d}.jsonl"


def _meta_name(file_index: int) -> str:
    return f"f{file_index:07d}.json"


def predict_ray(inputs: list[str], model: str, out: str, *, fast: str = "none", backend: str = "auto",
                batch_size: int = 32, chunk_docs: int = 64, strict: bool = False, text_column: str = "text",
                id_column: str | None = None, workers: int | None = None, address: str | None = None,
                threads: int | None = None, overwrite: bool = False, progress: bool = True,
                run_key: dict | None = None) -> PredictStats:
    """predict.py's output for `inputs`, computed on a Ray cluster (see the module's
    docstring). `out`: a .jsonl, .csv or .parquet file, or a folder (one that
    exists, or a name without a suffix): a Parquet dataset, one file per input file
    with rows (part-NNNNNNN.parquet, numbered in input order, all with the same
    columns). `workers`: classifier actors
    (default: one per GPU, else the cluster's CPUs less one); `chunk_docs`: documents
    per classifier call."""
    start = time.perf_counter()
    out_path = Path(out)
    as_folder = out_path.is_dir() or not out_path.suffix
    fmt = "parquet" if as_folder else output_format(out)
    if chunk_docs < 1 or batch_size < 1:
        raise InputError("--chunk-docs and --batch-size must be at least 1")
    check_outputs(out, None, None, overwrite)
    parts_dir = out_path.with_name(out_path.name + ".parts")
    exclude = [str(out_path), str(parts_dir)]

    driver_issues: list[Issue] = []
    paths = list(_paths(inputs, exclude, driver_issues, strict))
    names = document_names(paths)
    identity = input_identity([p for item in inputs for p in _expand_one(item, exclude)])
    key = _run_key({"inputs": inputs, "engine": "ray", **(run_key or {})})
    open_parts_dir(parts_dir, key, identity, overwrite)

    # Resume: a file whose meta exists is done; a file's parts without one are redone.
    done: dict[int, dict] = {}
    for index in range(len(paths)):
        meta = _read_meta(parts_dir / _meta_name(index)) if (parts_dir / _meta_name(index)).exists() else None
        if meta is not None:
            done[index] = meta
    for entry in os.scandir(parts_dir):
        if entry.name.startswith("f") and "-" in entry.name and int(entry.name[1:8]) not in done:
            os.unlink(entry.path)
    pending = [{"file_index": i, "path": p, "doc_id": names.get(p, "")} for i, p in enumerate(paths) if i not in done]
    skipped_files = len(paths) - len(pending)

    if pending:
        _run_pipeline(pending, parts_dir, model=model, fast=fast, backend=backend, batch_size=batch_size,
                      chunk_docs=chunk_docs, strict=strict, text_column=text_column, id_column=id_column,
                      workers=workers, address=address, threads=threads, progress=progress, done=done)

    metas = [done[i] for i in range(len(paths))]
    stats = PredictStats(documents=sum(m["documents"] for m in metas), segments=sum(m["segments"] for m in metas),
                         skipped_chunks=skipped_files,
                         issues=driver_issues + [Issue(**i) for m in metas for i in m["issues"]])
    columns = OUTPUT_COLUMNS + (["gold_label"] if any(m["gold_labels"] for m in metas) else []) + \
        list(dict.fromkeys(c for m in metas for c in m["extra_columns"]))
    if stats.documents:  # else nothing is written: predict.py says why and exits non-zero
        if as_folder:
            tmp = out_path.with_name(out_path.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for i, m in enumerate(metas):
                if m["segments"]:
                    merge_parts([parts_dir / p for p in m["pieces"]], tmp / f"part-{i:07d}.parquet", "parquet",
                                columns)
            if out_path.exists():  # --overwrite (check_outputs refused it otherwise)
                shutil.rmtree(out_path) if out_path.is_dir() else out_path.unlink()
            os.replace(tmp, out_path)
        else:
            merge_parts([parts_dir / p for m in metas for p in m["pieces"]], out_path, fmt, columns)
    shutil.rmtree(parts_dir)
    stats.seconds = time.perf_counter() - start
    return stats


def _run_pipeline(pending: list[dict], parts_dir: Path, *, model, fast, backend, batch_size, chunk_docs, strict,
                  text_column, id_column, workers, address, threads, progress, done: dict[int, dict]) -> None:
    """Run the Ray Data pipeline over the pending input files, writing their parts
    and, as each file completes, its meta (added to `done`)."""
    ray = connect(address, threads or 1)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), float(resources.get("CPU", 1))
    use_gpu = gpus > 0 and fast == "none"
    n_actors = workers or (gpus if use_gpu else max(1, int(cpus) - 1))
    actor_threads = threads or 1
    if use_gpu:
        actor_resources = {"num_gpus": 1, "num_cpus": 1}
    else:
        # CPU actors must leave a CPU for the read tasks, or the pipeline stalls
        # with every CPU held by an actor waiting for documents
        actor_resources = {"num_cpus": max(0.1, min(float(actor_threads), (cpus - 1) / n_actors))}

    files = ray.data.from_items(pending, override_num_blocks=min(len(pending), max(1, 4 * n_actors) * 8))
    # Fault tolerance is Ray Data's default, relied on here: a read task lost with its
    # worker is retried (max_retries=-1); a dead actor is restarted (max_restarts=-1)
    # and its unfinished batch retried on a live one (max_task_retries=-1).
    documents = files.map_batches(read_and_segment, batch_size=1, num_cpus=1,
                                  fn_kwargs={"text_column": text_column, "id_column": id_column,
                                             "rows_per_batch": chunk_docs})
    classified = documents.map_batches(
        DocumentClassifierActor, batch_size=chunk_docs, compute=ray.data.ActorPoolStrategy(size=n_actors),
        fn_constructor_kwargs={"model": str(Path(model).resolve()), "fast": fast, "backend": backend,
                               "device": "cuda" if use_gpu else None, "threads": actor_threads,
                               "batch_size": batch_size},
        **actor_resources)

    # Per pending file: the seqs received, the closing row's seq, issues by seq, pieces.
    state: dict[int, dict] = {}
    for batch in classified.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1):
        order = np.lexsort((batch["seq"], batch["file_index"]))
        runs: list[list[int]] = []
        for k in order:
            prev = runs[-1][-1] if runs else None
            if prev is not None and batch["file_index"][prev] == batch["file_index"][k] and \
                    batch["seq"][prev] + 1 == batch["seq"][k]:
                runs[-1].append(k)
            else:
                runs.append([k])
        for run in runs:
            file_index, first = int(batch["file_index"][run[0]]), int(batch["seq"][run[0]])
            name = _piece_name(file_index, first)
            text = "".join(batch["rows"][k] for k in run)
            write_atomic(parts_dir / name, lambda f: f.write(text))
            st = state.setdefault(file_index, {"received": set(), "last": None, "issues": {}, "pieces": {},
                                               "documents": 0, "segments": 0})
            st["pieces"][first] = name
            for k in run:
                seq = int(batch["seq"][k])
                if seq in st["received"]:  # a batch delivered twice (a retry): its piece was rewritten
                    continue
                st["received"].add(seq)
                st["documents"] += bool(batch["has_document"][k])
                st["segments"] += int(batch["segments"][k])
                issues = json.loads(batch["issues"][k])
                if issues:
                    if strict:
                        raise InputError(str(Issue(**issues[0])))
                    st["issues"][seq] = issues
                if batch["last"][k]:
                    st["last"] = seq
            if st["last"] is not None and len(st["received"]) == st["last"] + 1:
                done[file_index] = _finish_file(parts_dir, file_index, state.pop(file_index))
    missing = [f["path"] for f in pending if f["file_index"] not in done]
    if missing:
        raise InputError(f"{parts_dir}: {len(missing)} input file(s) not finished ({missing[0]} ...); "
                         "run again with the same arguments")


def _finish_file(parts_dir: Path, file_index: int, st: dict) -> dict:
    """Write the meta file that marks an input file done (last: its parts are
    complete before it exists); the columns come from its rows, in order."""
    pieces = [st["pieces"][s] for s in sorted(st["pieces"])]
    gold, extra = False, {}
    for name in pieces:
        with open(parts_dir / name, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                gold = gold or "gold_label" in row
                extra.update(dict.fromkeys(k for k in row if k not in OUTPUT_COLUMNS and k != "gold_label"))
    meta = {"documents": st["documents"], "segments": st["segments"], "gold_labels": gold,
            "extra_columns": list(extra), "pieces": pieces,
            "issues": [i for s in sorted(st["issues"]) for i in st["issues"][s]]}
    write_atomic(parts_dir / _meta_name(file_index), lambda f: json.dump(meta, f))
    return meta
