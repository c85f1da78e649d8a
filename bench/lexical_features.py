"""The document model's head with and without lexical inputs (model.lexical_features:
each segment's class log-probabilities from a word n-gram TF-IDF model), and with
the n-gram model also reading the neighbouring segments' words
(model.lexical_context_words), on one trained encoder, scored on the whole dev split
only (never test): how the default's lexical settings were chosen.

    python bench/lexical_features.py [--model models/default] [--seeds 42 43]
        [--variants none words context]

The model folder's config.yaml gives the run's data and settings; its encoder,
frozen, encodes the training windows and the whole dev split once (the same
vectors for every variant). Each n-gram model is fitted as training fits it
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

# variant -> (lexical_features, lexical_context_words)
VARIANTS = {"none": (False, False), "words": (True, False), "context": (True, True)}
DESCRIBED = {"none": "none", "words": "the segment's words", "context": "its words and its neighbours'"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="a document-model folder with its config.yaml")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43], help="head-stage seeds, each variant")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="none: no lexical inputs; words: the n-gram model of the segment's words; context: "
                             "also its neighbours' words")
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    import claimsort.training as training
    from claimsort.corpus import group_documents
    from claimsort.modeling.document import DocumentClassifierModel, fit_lexical, lexical_inputs

    folder, cfg, splits = model_run(args.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    lexical, fit_s = {}, {}
    for name in args.variants:
        use, context_words = VARIANTS[name]
        if use:
            started = time.perf_counter()
            full, train_lexical = fit_lexical(splits["train"], cfg.seed, context_words=context_words)
            lexical[name] = (train_lexical, lexical_inputs(full.predict_proba(group_documents(splits["dev_whole"]))))
            fit_s[name] = time.perf_counter() - started

    models, datasets = {}, {}
    for name in args.variants:
        use = VARIANTS[name][0]
        # the same encoder weights; the GRU and labelling layer are sized for the inputs
        # and trained from scratch by the head stage either way
        models[name] = DocumentClassifierModel.from_pretrained(folder, lexical_features=use,
                                                               ignore_mismatched_sizes=True)
        train_lexical, dev_lexical = lexical.get(name, (None, None))
        datasets[name] = (
            training.training_windows(splits["train"], tokenizer, models[name].config,
                                      cfg.training.head_all_windows, train_lexical),
            training.WindowDataset(splits["dev_whole"], tokenizer, models[name].config, owned_only=True,
                                   lexical=dev_lexical))
    weights = training.class_weights(splits["train"], cfg.training.class_weighting)

    # One encoding pass for every variant: the encoder is frozen, so its vectors are.
    first = args.variants[0]
    started = time.perf_counter()
    encoded = training._segment_vectors(models[first], tokenizer, list(datasets[first]))
    encode_s = time.perf_counter() - started
    training._segment_vectors = lambda *_: encoded

    rows, best = [], {}
    t = dataclasses.replace(cfg.training, head_epochs=8)
    for name in args.variants:
        for seed in args.seeds:
            started = time.perf_counter()
            history = training.train_head_on_frozen_vectors(models[name], tokenizer, *datasets[name], weights, t,
                                                            seed)
            best.setdefault(name, []).append(max(history))
            rows.append([DESCRIBED[name], seed, " / ".join(f"{f:.3f}" for f in history), f"{max(history):.4f}",
                         history.index(max(history)) + 1, f"{time.perf_counter() - started:.0f}"])
            print(rows[-1], flush=True)
    mean = {name: sum(v) / len(v) for name, v in best.items()}
    fits = "; ".join(f"{DESCRIBED[n]}: {s:.0f} s" for n, s in fit_s.items())
    write_result(
        "lexical_features", f"Lexical inputs to the head, on the frozen encoder of {folder.name}",
        markdown_table(["n-gram model reads", "seed", "whole-dev macro-F1 per epoch", "best", "best epoch",
                        "training s"], rows),
        [f"{len(splits['dev_whole']):,} dev segments (the whole dev split), {len(datasets[first][0]):,} training "
         f"windows, {t.head_epochs} head epochs ({t.head_lr_scheduler_type} learning rate "
         f"{t.head_learning_rate:g}), one encoding pass for all variants ({len(encoded[0]):,} distinct segments, "
         f"{encode_s:.0f} s); each n-gram model: 5 out-of-fold fits and one on all training rows ({fits}). "
         "Mean best dev macro-F1: " + ", ".join(f"{DESCRIBED[n]} {m:.4f}" for n, m in mean.items())
         + ". No test split is read."],
        reproduce=" ".join(["python bench/lexical_features.py", *(argv if argv is not None else sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
