"""The document model's head with and without lexical inputs (model.lexical_features:
each segment's class log-probabilities from a word n-gram TF-IDF model) on one
trained encoder, scored on the whole dev split only (never test): how the
default's lexical_features was chosen.

    python bench/lexical_features.py [--model models/default] [--seeds 42 43]

The model folder's config.yaml gives the run's data and settings; its encoder,
frozen, encodes the training windows and the whole dev split once (the same
vectors for every variant). The n-gram model is fitted as training fits it
(claimsort.modeling.document.fit_lexical: out of fold over the training articles,
then on all of them for dev). Each variant trains a fresh GRU and labelling layer
exactly as the head stage does (claimsort.training.train_head_on_frozen_vectors).
Result: bench/results/lexical_features.md.
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
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43], help="head-stage seeds, each variant")
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    import claimsort.training as training
    from claimsort.modeling.document import DocumentClassifierModel, fit_lexical, lexical_inputs

    folder, cfg, splits = model_run(args.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    started = time.perf_counter()
    full, train_lexical = fit_lexical(splits["train"], cfg.seed)
    dev_lexical = lexical_inputs(full.predict_proba([splits["dev_whole"]]))
    fit_s = time.perf_counter() - started

    models, datasets = {}, {}
    for flag in (False, True):
        # the same encoder weights; the GRU and labelling layer are sized for the inputs
        # and trained from scratch by the head stage either way
        models[flag] = DocumentClassifierModel.from_pretrained(folder, lexical_features=flag,
                                                               ignore_mismatched_sizes=True)
    for flag in (False, True):
        config = models[flag].config
        datasets[flag] = (
            training.WindowDataset(splits["train"], tokenizer, config, owned_only=False, max_boilerplate_windows=2,
                                   lexical=train_lexical if flag else None),
            training.WindowDataset(splits["dev_whole"], tokenizer, config, owned_only=True,
                                   lexical=dev_lexical if flag else None))
    weights = training.class_weights(splits["train"], cfg.training.class_weighting)

    # One encoding pass for every variant: the encoder is frozen, so its vectors are.
    started = time.perf_counter()
    encoded = training._segment_vectors(models[False], tokenizer, list(datasets[False]))
    encode_s = time.perf_counter() - started
    training._segment_vectors = lambda *_: encoded

    rows, best = [], {}
    t = dataclasses.replace(cfg.training, head_epochs=8)
    for flag in (False, True):
        for seed in args.seeds:
            started = time.perf_counter()
            history = training.train_head_on_frozen_vectors(models[flag], tokenizer, *datasets[flag], weights, t,
                                                            seed)
            best.setdefault(flag, []).append(max(history))
            rows.append(["yes" if flag else "no", seed, " / ".join(f"{f:.3f}" for f in history),
                         f"{max(history):.4f}", history.index(max(history)) + 1,
                         f"{time.perf_counter() - started:.0f}"])
    mean = {flag: sum(v) / len(v) for flag, v in best.items()}
    write_result(
        "lexical_features", f"Lexical inputs to the head, on the frozen encoder of {folder.name}",
        markdown_table(["lexical inputs", "seed", "whole-dev macro-F1 per epoch", "best", "best epoch",
                        "training s"], rows),
        [f"{len(splits['dev_whole']):,} dev segments (the whole dev split), {len(datasets[False][0]):,} training "
         f"windows, {t.head_epochs} head epochs ({t.head_lr_scheduler_type} learning rate "
         f"{t.head_learning_rate:g}), one encoding pass for all variants ({len(encoded[0]):,} distinct segments, "
         f"{encode_s:.0f} s); the word n-gram model: 5 out-of-fold fits and one on all training rows, {fit_s:.0f} s. "
         f"Mean best dev macro-F1: {mean[False]:.4f} without, {mean[True]:.4f} with lexical inputs "
         f"({mean[True] - mean[False]:+.4f}). No test split is read."],
        reproduce=" ".join(["python bench/lexical_features.py", *(argv if argv is not None else sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
