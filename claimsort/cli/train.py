"""Train a claimsort model from one config.

    python train.py --config configs/default.yaml [key=value ...] [--resume]

In order: read the config (composed from configs/, overridden by key=value with
dotted keys) and log it; build the corpus from every source whose text is
present; train; save the model folder (models/<name>/ unless output_dir is set)
with its run record; evaluate it on the configured splits; write its model card.
Works unchanged under torchrun and accelerate launch: only the main process
writes.
"""
import argparse
import json
import logging
import os
import sys
import time

from claimsort.cli import fail_cleanly

log = logging.getLogger("train")


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train a claimsort model from a config.")
    parser.add_argument("--config", required=True, help="run config, e.g. configs/default.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, nested keys with dots (training.trainer.num_train_epochs=1)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in <model>/checkpoints")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if is_main_process() else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from claimsort.config import load_config
    from claimsort.hub import write_model_card
    from claimsort.modeling.loading import load_classifier
    from claimsort.evaluation.reports import evaluate_rows
    from claimsort.training import (run_data, write_rank_log, train_document, train_page_structure, train_tfidf,
                                    train_transformer, write_run_record)

    cfg = load_config(args.config, args.overrides)
    log.info("config:\n%s", json.dumps(cfg.to_dict(), indent=2))
    splits = run_data(cfg)
    log.info("segments per split: %s", {k: len(v) for k, v in splits.items()})

    model_dir = cfg.model_dir
    train_seconds, head_stage = None, None
    if cfg.model.family == "tfidf":
        started = time.perf_counter()
        classifier = train_tfidf(cfg, splits)
        train_seconds = time.perf_counter() - started
    else:
        train = train_document if cfg.model.family == "document" else train_transformer
        started = time.perf_counter()
        trainer = train(cfg, splits, resume=args.resume)
        train_seconds = time.perf_counter() - started
        head_stage = getattr(trainer, "head_history", None)
        if os.environ.get("CLAIMSORT_RANK_LOG"):
            write_rank_log(trainer, os.environ["CLAIMSORT_RANK_LOG"])
        if not trainer.is_world_process_zero():
            return 0
        classifier = load_classifier(model_dir)
    if not is_main_process():
        return 0
    train_page_structure(cfg, model_dir)
    record = write_run_record(cfg, splits, model_dir, train_seconds=train_seconds, head_stage=head_stage)
    results = {}
    for split in cfg.eval_splits:
        if not splits.get(split):
            log.warning("split %s is empty; not evaluated", split)
            continue
        metrics = evaluate_rows(classifier, splits[split], model_dir / "eval" / split,
                                title=f"{cfg.name} on {split}", seed=cfg.seed)
        results[split] = metrics
        log.info("%s: macro-F1 %.3f %s, accuracy %.3f", split, metrics["macro_f1"],
                 metrics.get("macro_f1_ci95"), metrics["accuracy"])
    write_model_card(model_dir, cfg, record, results)
    if cfg.model.family in ("document", "transformer") and cfg.training.report_to == "wandb":
        from claimsort.tracking import log_evaluation

        log_evaluation(model_dir, results)
    log.info("model folder: %s", model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
