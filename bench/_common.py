"""Helpers shared by the benchmark scripts: the machine line, the results files,
the written corpus as documents, macro-F1."""
from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/run_all.py --results-dir points every script elsewhere through this variable.
RESULTS = Path(os.environ.get("CLAIMSORT_BENCH_RESULTS") or ROOT / "bench" / "results")
WRITTEN = ROOT / "data" / "written" / "articles.jsonl"
DEFAULT_MODEL = "models/default"
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"


from claimsort.corpus import group_documents, read_segment_table  # noqa: E402


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(torch_threads: int | None = None) -> str:
    """One header line: date, cores, CPU model, torch threads."""
    if torch_threads is None:
        try:
            import torch

            torch_threads = torch.get_num_threads()
        except ImportError:
            torch_threads = "n/a"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    try:
        load = f", load average {os.getloadavg()[0]:.1f} at the end"
    except OSError:
        load = ""
    return (f"_Run {date} on {cores} cores ({cpu_model()}), torch threads: {torch_threads}, "
            f"Python {platform.python_version()}{load}._")


def write_result(name: str, title: str, table: str, notes: list[str] | None = None,
                 torch_threads: int | None = None, reproduce: str | None = None) -> Path:
    """Print the table and write bench/results/<name>.md (title, machine line, table, notes)."""
    parts = [f"## {title}", "", machine_line(torch_threads), "", table.rstrip()]
    if notes:
        parts += [""] + list(notes)
    if reproduce:
        parts += ["", f"Reproduce: `{reproduce}`"]
    text = "\n".join(parts) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {path})")
    return path


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def read_written(path: Path = WRITTEN) -> list[dict]:
    return read_segment_table(path, require_label=True)


def written_documents(min_segments: int, path: Path = WRITTEN) -> list[list[dict]]:
    """Whole documents of the written corpus (all splits), repeated in order until
    there are at least `min_segments` segments; repeats get new doc_ids."""
    base = group_documents(read_written(path))
    docs: list[list[dict]] = []
    total, rep = 0, 0
    while total < min_segments:
        for doc in base:
            if total >= min_segments:
                break
            doc_id = doc[0]["doc_id"] if rep == 0 else f"{doc[0]['doc_id']}~{rep}"
            docs.append([{**row, "doc_id": doc_id} for row in doc])
            total += len(doc)
        rep += 1
    return docs


def macro_f1(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    from claimsort.labels import LABELS

    return float(f1_score(gold, pred, labels=list(LABELS), average="macro", zero_division=0))


def resolve_model(model: str) -> Path:
    path = Path(model)
    if not path.is_absolute() and not path.exists():
        path = ROOT / model
    if not (path / "config.json").is_file():
        raise SystemExit(f"{model}: not a transformer model folder (no config.json); train one first "
                         f"(make train) or pass --model")
    return path


def model_run(model: str):
    """A trained model folder, its run config and that config's data splits, with the run's torch
    threads set: what a bench that retrains part of a model on the same data starts from."""
    import torch

    from claimsort.config import load_config
    from claimsort.training import run_data

    folder = resolve_model(model)
    cfg = load_config(folder / "config.yaml", check_paths=False)
    if cfg.training.torch_threads:
        torch.set_num_threads(cfg.training.torch_threads)
    return folder, cfg, run_data(cfg)
