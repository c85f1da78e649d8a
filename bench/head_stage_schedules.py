"""The document model's head stage (training.head_epochs) under different
learning-rate schedules and epoch counts, on one trained encoder, scored on the
whole dev split only (never test): how the CPU default's head-stage settings were
chosen.

    python bench/head_stage_schedules.py [--model models/default] [--variant constant:10 linear:10 linear:8]

The model folder's config.yaml gives the run's data and settings; its encoder,
frozen, encodes the training windows and the whole dev split once (the same
vectors for every variant), and each variant trains a fresh GRU and labelling
layer exactly as training does (claimsort.training.train_head_on_frozen_vectors,
same seed). Result: bench/results/head_stage_schedules.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from _common import markdown_table, model_run, write_result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="a document-model folder with its config.yaml")
    parser.add_argument("--variant", nargs="+", default=["constant:10", "linear:10", "linear:8"],
                        help="SCHEDULE:EPOCHS (schedule: training.head_lr_scheduler_type)")
    args = parser.parse_args(argv)
    variants = []
    for v in args.variant:
        schedule, _, epochs = v.partition(":")
        if schedule not in ("constant", "linear", "cosine") or not epochs.isdigit() or int(epochs) < 1:
            parser.error(f"--variant {v!r}: expected SCHEDULE:EPOCHS, schedule constant, linear or cosine")
        variants.append((schedule, int(epochs)))

    from transformers import AutoTokenizer

    import claimsort.training as training
    from claimsort.corpus import group_documents
    from claimsort.modeling.document import DocumentClassifierModel, fit_lexical, lexical_inputs

    folder, cfg, splits = model_run(args.model)
    model = DocumentClassifierModel.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    train_lexical = dev_lexical = None
    if model.config.lexical_features:  # fitted as training fits it
        full, train_lexical = fit_lexical(splits["train"], cfg.seed, context_words=cfg.model.lexical_context_words)
        dev_lexical = lexical_inputs(full.predict_proba(group_documents(splits["dev_whole"])))
    train_ds = training.training_windows(splits["train"], tokenizer, model.config, cfg.training.head_all_windows,
                                         train_lexical)
    dev_ds = training.WindowDataset(splits["dev_whole"], tokenizer, model.config, owned_only=True,
                                    lexical=dev_lexical)
    weights = training.class_weights(splits["train"], cfg.training.class_weighting)

    # One encoding pass for every variant: the encoder is frozen, so its vectors are.
    started = time.perf_counter()
    encoded = training._segment_vectors(model, tokenizer, [train_ds, dev_ds])
    encode_s = time.perf_counter() - started
    training._segment_vectors = lambda *_: encoded

    rows = []
    for schedule, epochs in variants:
        t = dataclasses.replace(cfg.training, head_lr_scheduler_type=schedule, head_epochs=epochs)
        started = time.perf_counter()
        history = training.train_head_on_frozen_vectors(model, tokenizer, train_ds, dev_ds, weights, t, cfg.seed)
        best = max(history)
        rows.append([schedule, epochs, " / ".join(f"{f:.3f}" for f in history), f"{best:.4f}",
                     history.index(best) + 1, f"{time.perf_counter() - started:.0f}"])
    n_dev = len(splits["dev_whole"])
    write_result(
        "head_stage_schedules", f"Head-stage schedules on the frozen encoder of {folder.name}",
        markdown_table(["learning-rate schedule", "epochs", "whole-dev macro-F1 per epoch", "best", "best epoch",
                        "training s"], rows),
        [f"{n_dev:,} dev segments (the whole dev split), {len(train_ds):,} training windows; head learning rate "
         f"{cfg.training.head_learning_rate:g}, batch {cfg.training.head_batch_size} windows, seed {cfg.seed}; "
         f"one encoding pass for all variants ({len(encoded[0]):,} distinct segments, {encode_s:.0f} s). "
         "No test split is read."],
        reproduce=" ".join(["python bench/head_stage_schedules.py", *(argv if argv is not None else sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
