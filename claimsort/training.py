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
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from claimsort.config import RunConfig, save_config
from claimsort.corpus import build_corpus, fingerprint, group_documents, split_rows
from claimsort.labels import ID2LABEL, LABEL2ID, LABELS
from claimsort.modeling.base_models import resolve_base_model
from claimsort.modeling.sentence import SentenceContract, build_inputs
from claimsort.modeling.tfidf import TfidfClassifier

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


def _fraction_of_documents(rows: list[dict], fraction: float, seed: int) -> list[dict]:
    """A seeded share of the documents of each source (whole documents, in order)."""
    if fraction >= 1.0:
        return rows
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"data.train_fraction must be in (0, 1], got {fraction}")
    docs = group_documents(rows)
    keep: set[str] = set()
    for source in sorted({d[0].get("source", "?") for d in docs}):
        ids = sorted(d[0]["doc_id"] for d in docs if d[0].get("source", "?") == source)
        random.Random(seed).shuffle(ids)
        keep.update(ids[:max(1, round(len(ids) * fraction))])
    return [r for d in docs if d[0]["doc_id"] in keep for r in d]


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
    rows = build_corpus(d.corpus_paths(), announce=log.info)
    splits = split_rows(rows)
    # Context is built on whole documents, before any subsampling (the document
    # model reads the documents themselves).
    for split_rows_ in (splits.values() if cfg.model.family == "transformer" else ()):
        docs = group_documents(split_rows_)
        _, pairs = build_inputs(docs, cfg.model.context, cfg.model.context_window, cfg.model.context_chars)
        for i, row in enumerate(r for doc in docs for r in doc):
            row["pair"] = pairs[i] if pairs else None
    if cfg.model.family != "document":  # the document model keeps pages whole and drops furniture windows
        splits["train"] = _cap_web_boilerplate(splits["train"], d.max_web_boilerplate_per_page, cfg.seed)
    splits["train"] = _fraction_of_documents(splits["train"], d.train_fraction, cfg.seed)
    splits["train"] = _subsample_documents(splits["train"], d.max_train_segments, cfg.seed)
    # The whole dev split stays beside the sample: the document model's head stage
    # chooses its epoch on it (scoring cached vectors costs a GRU pass, not an encoding).
    splits["dev_whole"] = splits["dev"]
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


def write_run_record(cfg: RunConfig, splits: dict[str, list[dict]], folder: Path,
                     train_seconds: float | None = None, head_stage: list[float] | None = None) -> dict:
    """config.yaml (fully resolved) and run.json (commit, data fingerprint, seed, versions;
    the dev macro-F1 of each epoch of the document model's head stage, if it ran)."""
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
        "train_seconds": None if train_seconds is None else round(train_seconds, 1),
    }
    if head_stage:
        record["head_stage_dev_macro_f1"] = head_stage
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


def _bf16_supported() -> bool:
    """bf16 mixed precision on a GPU that supports it. Not on a CPU: even with native
    bf16 instructions a document-model step ran 2.5x slower here (7.2 against 2.8 s),
    the encoder's many small per-chunk matrices paying the conversions."""
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def training_arguments(cfg: RunConfig, model_dir: Path, **extra):
    """The Trainer's settings of a run (both transformer families): what every run
    needs, then the config's training.trainer block (any TrainingArguments field),
    which wins, then `extra` (what the family itself must set)."""
    import torch
    from transformers import TrainingArguments

    t = cfg.training
    if t.report_to == "wandb":
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_PROJECT", t.wandb_project)
        os.environ.setdefault("WANDB_DIR", str(Path("wandb").resolve().parent))
        os.environ.setdefault("WANDB_SILENT", "true")
    given = dict(t.trainer)
    eval_steps = given.get("eval_steps") or 500
    cuda = torch.cuda.is_available()
    settings = dict(
        output_dir=str(model_dir / "checkpoints"),
        run_name=cfg.name,
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,  # a checkpoint at every evaluation: the best one is kept
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        logging_steps=max(1, min(50, int(eval_steps))),
        seed=cfg.seed,
        data_seed=cfg.seed,
        full_determinism=not cuda,
        report_to=[] if t.report_to == "none" else [t.report_to],
        bf16={"true": True, "false": False}.get(t.bf16, _bf16_supported()),
        ddp_find_unused_parameters=False,
        # Without a GPU the Trainer must be told, or torchrun's processes each train alone.
        use_cpu=not cuda,
        ddp_backend="gloo" if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        disable_tqdm=not sys.stderr.isatty(),
    )
    return TrainingArguments(**{**settings, **given, **extra})


def train_transformer(cfg: RunConfig, splits: dict[str, list[dict]], resume: bool = False):
    """Fine-tune; returns (trainer, model folder). The best dev checkpoint is the one saved."""
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              EarlyStoppingCallback, Trainer, set_seed)

    t = cfg.training
    if t.torch_threads:
        torch.set_num_threads(t.torch_threads)
    set_seed(cfg.seed)
    base = resolve_base_model(cfg.model.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.model_max_length = cfg.model.max_length  # the pipeline then cuts where training did
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    model.config.claimsort = SentenceContract(context=cfg.model.context, context_window=cfg.model.context_window,
                                              context_chars=cfg.model.context_chars,
                                              max_length=cfg.model.max_length).to_dict()
    train_ds = _to_dataset(splits["train"], tokenizer, cfg.model.max_length)
    dev_ds = _to_dataset(splits["dev"], tokenizer, cfg.model.max_length)

    args = training_arguments(cfg, cfg.model_dir)
    trainer = Trainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
        processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_macro_f1,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience)],
        compute_loss_func=weighted_loss(class_weights(splits["train"], t.class_weighting)),
    )
    trainer.train(resume_from_checkpoint=_resume_checkpoint(cfg.model_dir) if resume else None)
    save_model_folder(trainer, cfg.model_dir)
    return trainer


# --------------------------------------------------------------------------- #
# Document model
# --------------------------------------------------------------------------- #
# Web-page windows that hold page furniture only, kept per page in end-to-end
# training (a web page is mostly furniture; this halves its windows).
FURNITURE_WINDOWS_PER_PAGE = 2


class WindowDataset:
    """Training or evaluation windows of whole articles (claimsort.modeling.document)."""

    def __init__(self, rows: list[dict], tokenizer, config, owned_only: bool, max_boilerplate_windows=None,
                 lexical: np.ndarray | None = None):
        """lexical: the rows' lexical inputs [len(rows), labels], in the rows' order
        (lexical_features models; see claimsort.modeling.document.fit_lexical)."""
        from claimsort.modeling.document import document_windows, tokenize_segments

        if config.lexical_features and (lexical is None or len(lexical) != len(rows)):
            raise ValueError("a lexical_features model needs the lexical inputs of every row")
        self.examples = []
        offset = 0
        for doc in group_documents(rows):
            ids = tokenize_segments(tokenizer, [r["text"] for r in doc], config.max_segment_tokens, config.head_tokens)
            labels = [LABEL2ID[r["label"]] for r in doc]
            doc_lexical = lexical[offset:offset + len(doc)] if config.lexical_features else None
            offset += len(doc)
            examples = document_windows(ids, config, labels, owned_only=owned_only, lexical=doc_lexical)
            if max_boilerplate_windows is not None and doc[0].get("source") == "web":
                # A web page is mostly page furniture (and on HTML the page-structure
                # model judges furniture from the markup): keep the windows that hold
                # a real part of the article (4+ article segments) and a few that are
                # furniture only. This halves the training windows of the web pages.
                boiler = LABEL2ID["boilerplate"]
                article = [sum(y not in (boiler, -100) for y in ex["labels"]) for ex in examples]
                furniture = [i for i, a in enumerate(article) if a == 0]
                kept = set(furniture[::max(1, -(-len(furniture) // max_boilerplate_windows))])
                examples = [ex for i, ex in enumerate(examples) if article[i] >= 4 or i in kept]
            self.examples.extend(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        ex = self.examples[i]
        item = {"input_ids": ex["input_ids"], "positions": ex["positions"], "labels": ex["labels"]}
        if "lexical" in ex:
            item["lexical"] = ex["lexical"]
        return item


def _macro_f1_windows(eval_pred) -> dict:
    """Macro-F1 over the scored segments of evaluation windows (each segment once:
    in its owner window), padding (-100) left out."""
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    logits, labels = np.asarray(logits), np.asarray(labels)
    keep = labels != -100
    preds = logits.argmax(-1)[keep]
    labels = labels[keep]
    return {"macro_f1": f1_score(labels, preds, labels=list(range(len(LABELS))), average="macro", zero_division=0),
            "accuracy": accuracy_score(labels, preds)}


def weighted_loss(weights):
    """Class-weighted cross-entropy for the Trainer's compute_loss_func (against class
    imbalance): over segments for the sentence model, over the scored segments of
    each window (-100 elsewhere) for the document model."""
    import torch

    weight = torch.tensor(weights, dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits.float()
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                 weight=weight.to(logits.device), ignore_index=-100)
    return loss


def train_document(cfg: RunConfig, splits: dict[str, list[dict]], resume: bool = False):
    """Train the document model end to end; returns the trainer. The best dev
    checkpoint is the one saved (safetensors, tokenizer with model_max_length =
    the training length, the serving contract in config.json)."""
    import torch
    from transformers import AutoTokenizer, EarlyStoppingCallback, Trainer, set_seed

    from claimsort.modeling.document import (LEXICAL_FOLDER, DocumentClassifierModel, collate_windows, fit_lexical,
                                             lexical_inputs)

    t, m = cfg.training, cfg.model
    if t.torch_threads:
        torch.set_num_threads(t.torch_threads)
    set_seed(cfg.seed)
    base = resolve_base_model(m.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.model_max_length = m.max_length
    model = DocumentClassifierModel.from_encoder(
        base, pooling=m.pooling, sequence_hidden=m.sequence_hidden, sequence_layers=m.sequence_layers,
        dropout=m.dropout, window=m.window, stride=m.stride, max_segment_tokens=m.max_length, head_tokens=m.head_tokens,
        lexical_features=m.lexical_features)
    lexical = {}
    if m.lexical_features:
        started = time.perf_counter()
        lexical_model, lexical["train"] = fit_lexical(splits["train"], cfg.seed, context_words=m.lexical_context_words)
        for name in ("dev", "dev_whole"):
            lexical[name] = lexical_inputs(lexical_model.predict_proba(group_documents(splits[name])))
        log.info("lexical features: word n-gram model fitted (out of fold over the training articles, "
                 "then on all) in %.0f s",
                 time.perf_counter() - started)
    encoder = model.segment_encoder.encoder
    if m.freeze_embeddings or m.freeze_layers:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if m.freeze_layers:
        layers = getattr(getattr(encoder, "encoder", None), "layer", None)
        if layers is None:
            raise ValueError(f"model.freeze_layers: {type(encoder).__name__} has no encoder.layer list to freeze")
        for module in [encoder.embeddings, *layers[:m.freeze_layers]]:
            module.requires_grad_(False)
    train_ds = training_windows(splits["train"], tokenizer, model.config, all_windows=False,
                                lexical=lexical.get("train"))
    dev_ds = WindowDataset(splits["dev"], tokenizer, model.config, owned_only=True, lexical=lexical.get("dev"))
    log.info("document model: %d training windows, %d dev windows (window %d, stride %d)",
             len(train_ds), len(dev_ds), m.window, m.stride)

    args = training_arguments(cfg, cfg.model_dir, remove_unused_columns=False)
    # The encoder starts pretrained, the GRU and the labelling layer from scratch: each
    # its own learning rate; no weight decay on biases and layer norms.
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n  # noqa: E731
    encoder = [(n, p) for n, p in trainable if n.startswith("segment_encoder.")]
    groups = [
        {"params": [p for n, p in encoder if not no_decay(n)], "weight_decay": args.weight_decay, "lr": args.learning_rate},
        {"params": [p for n, p in encoder if no_decay(n)], "weight_decay": 0.0, "lr": args.learning_rate},
        {"params": [p for n, p in trainable if not n.startswith("segment_encoder.")],
         "weight_decay": args.weight_decay, "lr": t.head_learning_rate},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate)
    trainer = Trainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds, processing_class=tokenizer,
        data_collator=lambda examples: collate_windows(examples, tokenizer),
        compute_metrics=_macro_f1_windows, compute_loss_func=weighted_loss(
            class_weights(splits["train"], t.class_weighting)),
        optimizers=(optimizer, None),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience)],
    )
    trainer.train(resume_from_checkpoint=_resume_checkpoint(cfg.model_dir) if resume else None)
    if t.head_epochs:
        # Every rank runs the same seeded stage (cheap next to end-to-end training), so
        # that no rank waits on another; rank 0 saves.
        selection_ds = WindowDataset(splits["dev_whole"], tokenizer, model.config, owned_only=True,
                                     lexical=lexical.get("dev_whole"))
        head_ds = training_windows(splits["train"], tokenizer, model.config, all_windows=True,
                                   lexical=lexical.get("train")) if t.head_all_windows else train_ds
        log.info("head stage: %d training windows", len(head_ds))
        trainer.head_history = train_head_on_frozen_vectors(
            trainer.model, tokenizer, head_ds, selection_ds, class_weights(splits["train"], t.class_weighting), t,
            cfg.seed)
    save_model_folder(trainer, cfg.model_dir)
    if m.lexical_features and trainer.is_world_process_zero():
        lexical_model.save(Path(cfg.model_dir) / LEXICAL_FOLDER)
    return trainer


def training_windows(rows: list[dict], tokenizer, config, all_windows: bool, lexical=None) -> WindowDataset:
    """Training windows: all of them (the head stage with training.head_all_windows),
    or, as end to end, FURNITURE_WINDOWS_PER_PAGE furniture-only windows per web page."""
    return WindowDataset(rows, tokenizer, config, owned_only=False, lexical=lexical,
                         max_boilerplate_windows=None if all_windows else FURNITURE_WINDOWS_PER_PAGE)


def _segment_vectors(model, tokenizer, datasets: list[WindowDataset]):
    """Each distinct segment of the windows encoded once by the model's own encoder
    (DocumentClassifierModel.encode: eval mode, no gradient); returns the vectors and,
    per dataset, each window's rows of them."""
    import torch

    index: dict[tuple, int] = {}
    rows = [[[index.setdefault(tuple(ids), len(index)) for ids in ex["input_ids"]] for ex in ds.examples]
            for ds in datasets]
    padded = tokenizer.pad({"input_ids": [list(ids) for ids in index]}, padding=True, return_tensors="pt")
    ids, mask = padded["input_ids"].to(next(model.parameters()).device), padded["attention_mask"]
    mask = mask.to(ids.device)
    model.eval()
    with torch.inference_mode():
        # a few thousand at a time: encode() gathers its output into one tensor per call
        vectors = torch.cat([model.encode(ids[s:s + 4096], mask[s:s + 4096]).float().cpu()
                             for s in range(0, len(ids), 4096)])
    return vectors, rows


def train_head_on_frozen_vectors(model, tokenizer, train_ds: WindowDataset, dev_ds: WindowDataset, weights, t,
                                 seed: int) -> list[float]:
    """The second stage (training.head_epochs): a fresh GRU and labelling layer trained
    on the trained encoder's frozen segment vectors, over the same training windows;
    the epoch with the best macro-F1 on `dev_ds` (train_document passes the whole dev
    split; segments scored in their owner window, as during training) is kept in the
    model. Returns the dev macro-F1 of each epoch."""
    import copy

    import torch
    from torch import nn
    from transformers import get_scheduler

    from claimsort.modeling.document import window_grid

    started = time.perf_counter()
    vectors, (train_rows, dev_rows) = _segment_vectors(model, tokenizer, [train_ds, dev_ds])
    log.info("head stage: %d distinct segments encoded in %.0f s", len(vectors), time.perf_counter() - started)
    device = next(model.parameters()).device

    def batch(ds, rows, ids):
        examples = [ds.examples[i] for i in ids]
        grid = window_grid([vectors[rows[i]] for i in ids])
        positions = window_grid([ex["positions"] for ex in examples])
        labels = window_grid([ex["labels"] for ex in examples], fill=-100, dtype=torch.long)
        lexical = window_grid([ex["lexical"] for ex in examples]) if model.config.lexical_features else None
        lengths = torch.tensor([len(rows[i]) for i in ids])
        return (grid.to(device), positions.to(device), lengths, labels.to(device),
                None if lexical is None else lexical.to(device))

    def dev_macro_f1() -> float:
        model.eval()
        logits, labels = [], []
        with torch.inference_mode():
            for b in range(0, len(dev_rows), 64):
                grid, positions, lengths, gold, lexical = batch(dev_ds, dev_rows,
                                                                list(range(b, min(b + 64, len(dev_rows)))))
                keep = gold != -100
                logits.append(model.head(grid, positions, lengths, lexical)[keep].float().cpu().numpy())
                labels.append(gold[keep].cpu().numpy())
        return _macro_f1_windows((np.concatenate(logits), np.concatenate(labels)))["macro_f1"]

    torch.manual_seed(seed)
    model.sequence.reset_parameters()
    nn.init.normal_(model.classifier.weight, std=0.02)
    nn.init.zeros_(model.classifier.bias)
    params = [*model.sequence.parameters(), *model.classifier.parameters()]
    optimiser = torch.optim.AdamW(params, lr=t.head_learning_rate, weight_decay=0.01)
    steps_per_epoch = -(-len(train_rows) // t.head_batch_size)
    scheduler = get_scheduler(t.head_lr_scheduler_type, optimiser, num_warmup_steps=0,
                              num_training_steps=steps_per_epoch * t.head_epochs)
    weight = torch.tensor(weights, dtype=torch.float32, device=device)
    rng = np.random.default_rng(seed)
    history, best = [], None
    for epoch in range(1, t.head_epochs + 1):
        model.train()
        order = rng.permutation(len(train_rows))
        for b in range(0, len(order), t.head_batch_size):
            grid, positions, lengths, labels, lexical = batch(train_ds, train_rows, order[b:b + t.head_batch_size])
            logits = model.head(model.dropout(grid), positions, lengths, lexical)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                               weight=weight, ignore_index=-100)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            scheduler.step()
        history.append(round(float(dev_macro_f1()), 4))
        log.info("head stage epoch %d: dev macro-F1 %.4f", epoch, history[-1])
        if best is None or history[-1] > max(history[:-1]):
            best = copy.deepcopy((model.sequence.state_dict(), model.classifier.state_dict()))
    model.sequence.load_state_dict(best[0])
    model.classifier.load_state_dict(best[1])
    model.eval()
    log.info("head stage: best epoch %d of %d, %.0f s", int(np.argmax(history)) + 1, t.head_epochs,
             time.perf_counter() - started)
    return history


def save_model_folder(trainer, model_dir: Path) -> None:
    """The best checkpoint's weights, config and tokenizer into the model folder (main
    process only). The Trainer's pickled training_args.bin stays in checkpoints/, the
    resume state: nothing a model folder serves is a pickle."""
    trainer.save_model(str(model_dir))
    if trainer.is_world_process_zero():
        (Path(model_dir) / "training_args.bin").unlink(missing_ok=True)


def _resume_checkpoint(model_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    ckpt_dir = model_dir / "checkpoints"
    resume_from = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if resume_from is None:
        log.warning("--resume: no checkpoint in %s, starting from scratch", ckpt_dir)
    else:
        log.info("resuming from %s", resume_from)
    return resume_from


# --------------------------------------------------------------------------- #
# Page structure (HTML boilerplate from markup)
# --------------------------------------------------------------------------- #
def train_page_structure(cfg: RunConfig, model_dir: Path) -> int:
    """Fit the page-structure model on the training-split web pages and save it in
    the model folder; returns the number of pages (0: no web pages, nothing saved)."""
    from claimsort.corpus import resolve_dirs
    from claimsort.html.pagestructure import PageStructureModel, training_pages

    _, web_dir = resolve_dirs(cfg.data.ptc_dir, cfg.data.web_pages_dir)
    if not cfg.model.page_structure or not web_dir or "web" not in cfg.data.sources:
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


def write_rank_log(trainer, folder: str) -> None:
    """Diagnostics for data-parallel runs ($CLAIMSORT_RANK_LOG=folder): each rank
    writes its world size, a checksum of its final weights and whether it is
    the one that writes the model folder."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for _, tensor in sorted(trainer.model.state_dict().items()):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    rank = trainer.args.process_index
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank-{rank}.json").write_text(json.dumps({
        "rank": rank, "world_size": trainer.args.world_size, "weights_checksum": digest.hexdigest(),
        "wrote_model_folder": trainer.is_world_process_zero()}))
