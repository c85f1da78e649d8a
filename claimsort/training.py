"""Training: the data of a run, the transformer Trainer loop, the TF-IDF baseline,
and the run record that makes a run reproducible.

Works unchanged under `torchrun` and `accelerate launch` (data-parallel through
the Trainer); only the main process writes the model folder and reports.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import random
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from claimsort.config import RunConfig, save_config
from claimsort.corpus import build_corpus, fingerprint, group_documents, split_rows
from claimsort.labels import ID2LABEL, LABEL2ID, LABELS
from claimsort.models import TfidfClassifier, build_inputs, resolve_base_model

log = logging.getLogger("claimsort.training")

RECORDED_PACKAGES = ("torch", "transformers", "datasets", "scikit-learn", "accelerate", "wandb",
                     "huggingface_hub", "syntok", "html-text", "numpy", "claimsort")


# --------------------------------------------------------------------------- #
# Data of a run
# --------------------------------------------------------------------------- #
def _subsample_documents(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or len(rows) <= limit:
        return rows
    docs = group_documents(rows)
    random.Random(seed).shuffle(docs)
    out: list[dict] = []
    for doc in docs:
        if len(out) + len(doc) > limit and out:
            continue
        out.extend(doc)
    return out


def _cap_web_boilerplate(rows: list[dict], cap: int | None, seed: int) -> list[dict]:
    """Keep at most `cap` boilerplate segments of each web page (training only).

    The kept ones stay in document order so the context of every kept segment is
    still its true neighbours (context is built before this, see run_data)."""
    if cap is None:
        return rows
    rng = random.Random(seed)
    out = []
    for doc in group_documents(rows):
        if doc[0].get("source") != "web":
            out.extend(doc)
            continue
        boiler = [i for i, r in enumerate(doc) if r["label"] == "boilerplate"]
        keep = set(boiler) if len(boiler) <= cap else set(rng.sample(boiler, cap))
        out.extend(r for i, r in enumerate(doc) if r["label"] != "boilerplate" or i in keep)
    return out


def run_data(cfg: RunConfig) -> dict[str, list[dict]]:
    """Rows of each split for this run, each row with a `pair` context text."""
    d = cfg.data
    rows = build_corpus(d.corpus_paths())
    splits = split_rows(rows)
    # Context is built on whole documents, before any subsampling.
    for split_rows_ in splits.values():
        docs = group_documents(split_rows_)
        _, pairs = build_inputs(docs, cfg.model.context, cfg.model.context_window, cfg.model.context_chars)
        for i, row in enumerate(r for doc in docs for r in doc):
            row["pair"] = pairs[i] if pairs else None
    splits["train"] = _cap_web_boilerplate(splits["train"], d.max_web_boilerplate_per_page, cfg.seed)
    splits["train"] = _subsample_documents(splits["train"], d.max_train_segments, cfg.seed)
    splits["dev"] = _subsample_documents(splits["dev"], d.max_eval_segments, cfg.seed)
    for name, split in splits.items():
        if name in ("train", "dev") and not split:
            raise ValueError(f"the {name} split is empty: check the data config")
    return splits


def class_weights(rows: list[dict], scheme: str) -> np.ndarray:
    counts = np.bincount([LABEL2ID[r["label"]] for r in rows], minlength=len(LABELS)).astype(float)
    if scheme == "none":
        return np.ones(len(LABELS))
    inverse = counts.sum() / (len(LABELS) * np.maximum(counts, 1))
    return np.sqrt(inverse) if scheme == "sqrt_inverse" else inverse


# --------------------------------------------------------------------------- #
# Run record
# --------------------------------------------------------------------------- #
def git_state(root: Path = Path(".")) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_run_record(cfg: RunConfig, splits: dict[str, list[dict]], folder: Path) -> dict:
    """config.yaml (fully resolved) and run.json (commit, data fingerprint, seed, versions)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_config(cfg, folder / "config.yaml")
    record = {
        "name": cfg.name,
        "seed": cfg.seed,
        "git": git_state(),
        "data_fingerprint": {name: fingerprint(rows) for name, rows in splits.items()},
        "data_counts": {name: {label: sum(r["label"] == label for r in rows) for label in LABELS}
                        for name, rows in splits.items()},
        "sources": sorted({r.get("source", "?") for rows in splits.values() for r in rows}),
        "packages": package_versions(),
        "command": " ".join(sys.argv),
    }
    (folder / "run.json").write_text(json.dumps(record, indent=2))
    return record


# --------------------------------------------------------------------------- #
# Transformer
# --------------------------------------------------------------------------- #
def _to_dataset(rows: list[dict], tokenizer, max_length: int):
    import datasets

    has_pair = bool(rows) and rows[0].get("pair") is not None
    ds = datasets.Dataset.from_dict({
        "text": [r["text"] for r in rows],
        "pair": [r.get("pair") or "" for r in rows],
        "labels": [LABEL2ID[r["label"]] for r in rows],
    })

    def tokenize(batch):
        if has_pair:
            return tokenizer(batch["text"], batch["pair"], truncation="longest_first", max_length=max_length)
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    return ds.map(tokenize, batched=True, remove_columns=["text", "pair"])


def _macro_f1(eval_pred) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    preds = np.asarray(logits).argmax(-1)
    return {"macro_f1": f1_score(labels, preds, labels=list(range(len(LABELS))), average="macro", zero_division=0),
            "accuracy": accuracy_score(labels, preds)}


def _make_trainer_class():
    import torch
    from transformers import Trainer

    class WeightedLossTrainer(Trainer):
        """Trainer with class-weighted cross-entropy (against class imbalance)."""

        def __init__(self, *args, class_weights=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.class_weights = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            weight = None if self.class_weights is None else self.class_weights.to(outputs.logits.device)
            loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
            return (loss, outputs) if return_outputs else loss

    return WeightedLossTrainer


def train_transformer(cfg: RunConfig, splits: dict[str, list[dict]], resume: bool = False):
    """Fine-tune; returns (trainer, model folder). The best dev checkpoint is the one saved."""
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              EarlyStoppingCallback, TrainingArguments, set_seed)

    t = cfg.training
    if t.torch_threads:
        torch.set_num_threads(t.torch_threads)
    set_seed(cfg.seed)
    base = resolve_base_model(cfg.model.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    model.config.claimsort = {"context": cfg.model.context, "context_window": cfg.model.context_window,
                              "context_chars": cfg.model.context_chars, "max_length": cfg.model.max_length,
                              "labels": list(LABELS)}
    train_ds = _to_dataset(splits["train"], tokenizer, cfg.model.max_length)
    dev_ds = _to_dataset(splits["dev"], tokenizer, cfg.model.max_length)

    if t.report_to == "wandb":
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_PROJECT", t.wandb_project)
        os.environ.setdefault("WANDB_DIR", str(Path("wandb").resolve().parent))
        os.environ.setdefault("WANDB_SILENT", "true")
    use_bf16 = {"true": True, "false": False}.get(t.bf16, torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    model_dir = cfg.model_dir
    args = TrainingArguments(
        output_dir=str(model_dir / "checkpoints"),
        run_name=cfg.name,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,
        eval_strategy="steps",
        eval_steps=t.eval_steps,
        save_strategy="steps",
        save_steps=t.eval_steps,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        logging_steps=max(1, min(50, t.eval_steps)),
        seed=cfg.seed,
        data_seed=cfg.seed,
        full_determinism=not torch.cuda.is_available(),
        report_to=[] if t.report_to == "none" else [t.report_to],
        dataloader_num_workers=t.num_workers,
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        bf16=use_bf16,
        ddp_find_unused_parameters=False,
        # Without a GPU the Trainer must be told, or torchrun's processes each train alone.
        use_cpu=not torch.cuda.is_available(),
        ddp_backend="gloo" if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        disable_tqdm=not sys.stderr.isatty(),
    )
    trainer_cls = _make_trainer_class()
    trainer = trainer_cls(
        model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
        processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_macro_f1,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience)],
        class_weights=class_weights(splits["train"], t.class_weighting),
    )
    resume_from = None
    if resume:
        from transformers.trainer_utils import get_last_checkpoint

        ckpt_dir = model_dir / "checkpoints"
        resume_from = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
        if resume_from is None:
            log.warning("--resume: no checkpoint in %s, starting from scratch", ckpt_dir)
        else:
            log.info("resuming from %s", resume_from)
    trainer.train(resume_from_checkpoint=resume_from)
    trainer.save_model(str(model_dir))  # main process only; the best checkpoint's weights
    return trainer


# --------------------------------------------------------------------------- #
# Page structure (HTML boilerplate from markup)
# --------------------------------------------------------------------------- #
def train_page_structure(cfg: RunConfig, model_dir: Path) -> int:
    """Fit the page-structure model on the training-split web pages and save it in
    the model folder; returns the number of pages (0: no web pages, nothing saved)."""
    from claimsort.corpus import resolve_dirs
    from claimsort.pagestructure import PageStructureModel, training_pages

    _, web_dir = resolve_dirs(cfg.data.ptc_dir, cfg.data.web_pages_dir)
    if not cfg.model.page_structure or not web_dir:
        return 0
    pages = training_pages(Path(cfg.data.web_annotations), Path(web_dir), split="train")
    if not pages:
        return 0
    PageStructureModel.fit(pages, seed=cfg.seed).save(model_dir)
    log.info("page-structure model: %d training web pages, %d segments", len(pages), sum(len(m) for _, m in pages))
    return len(pages)


# --------------------------------------------------------------------------- #
# TF-IDF baseline
# --------------------------------------------------------------------------- #
def train_tfidf(cfg: RunConfig, splits: dict[str, list[dict]]) -> TfidfClassifier:
    m = cfg.model
    weighting = "balanced" if cfg.training.class_weighting != "none" else None
    clf = TfidfClassifier.create(ngram_max=m.ngram_max, char_ngrams=m.char_ngrams, C=m.C, seed=cfg.seed,
                                 class_weight=weighting)
    clf.fit(splits["train"])
    clf.save(cfg.model_dir)
    return clf
