"""The document model's head stage (training.head_all_windows) trained on the
end-to-end stage's windows (two furniture-only windows per web page) or on every
training window, on one trained encoder, scored on the whole dev split only (never
test): how the CPU default's head-stage windows were chosen.

    python bench/head_stage_windows.py [--model models/default] [--seeds 42 43]

The model folder's config.yaml gives the run's data and settings; the word n-gram
model is fitted as training fits it (out of fold, then on all training rows); the
frozen encoder encodes each variant's windows and the whole dev split, and each
variant trains a fresh GRU and labelling layer exactly as training does
(claimsort.training.train_head_on_frozen_vectors). Result:
bench/results/head_stage_windows.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from _common import markdown_table, model_run, write_result

VARIANTS = {False: "two furniture-only windows per web page (as end to end)", True: "every training window"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="a document-model folder with its config.yaml")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43], help="head-stage seeds, each variant")
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    import claimsort.training as training
    from claimsort.corpus import group_documents
    from claimsort.modeling.document import DocumentClassifierModel, fit_lexical, lexical_inputs

    folder, cfg, splits = model_run(args.model)
    model = DocumentClassifierModel.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    train_lexical = dev_lexical = None
    if model.config.lexical_features:
        full, train_lexical = fit_lexical(splits["train"], cfg.seed, context_words=cfg.model.lexical_context_words)
        dev_lexical = lexical_inputs(full.predict_proba(group_documents(splits["dev_whole"])))
    dev_ds = training.WindowDataset(splits["dev_whole"], tokenizer, model.config, owned_only=True, lexical=dev_lexical)
    weights = training.class_weights(splits["train"], cfg.training.class_weighting)
    t = dataclasses.replace(cfg.training, head_epochs=8)
    encode_vectors = training._segment_vectors

    rows, best = [], {}
    for all_windows, described in VARIANTS.items():
        train_ds = training.training_windows(splits["train"], tokenizer, model.config, all_windows, train_lexical)
        started = time.perf_counter()
        encoded = encode_vectors(model, tokenizer, [train_ds, dev_ds])  # the encoder is frozen: once per variant
        encode_s = time.perf_counter() - started
        training._segment_vectors = lambda *_: encoded
        for seed in args.seeds:
            started = time.perf_counter()
            history = training.train_head_on_frozen_vectors(model, tokenizer, train_ds, dev_ds, weights, t, seed)
            best.setdefault(described, []).append(max(history))
            rows.append([described, f"{len(train_ds):,}", f"{len(encoded[0]):,} ({encode_s:.0f} s)", seed,
                         " / ".join(f"{f:.3f}" for f in history), f"{max(history):.4f}",
                         history.index(max(history)) + 1, f"{time.perf_counter() - started:.0f}"])
            print(rows[-1], flush=True)
    training._segment_vectors = encode_vectors
    mean = {name: sum(v) / len(v) for name, v in best.items()}
    write_result(
        "head_stage_windows", f"Head-stage training windows on the frozen encoder of {folder.name}",
        markdown_table(["head stage trains on", "training windows", "distinct segments encoded", "seed",
                        "whole-dev macro-F1 per epoch", "best", "best epoch", "training s"], rows),
        [f"{len(splits['dev_whole']):,} dev segments (the whole dev split), {t.head_epochs} head epochs "
         f"({t.head_lr_scheduler_type} learning rate {t.head_learning_rate:g}). Mean best dev macro-F1: "
         + ", ".join(f"{n} {m:.4f}" for n, m in mean.items()) + ". No test split is read."],
        reproduce=" ".join(["python bench/head_stage_windows.py", *(argv if argv is not None else sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
