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

try:
    from claimsort.cli import fail_cleanly
except ModuleNotFoundError as e:  # run by a Python outside the project's virtual environment
    print(f"error: {e.name} is not installed for {sys.executable}; run `.venv/bin/python train.py ...` or `make train` (`make install` creates .venv)", file=sys.stderr)
    sys.exit(2)

log = logging.getLogger("train")


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train a claimsort model from a config.")
    parser.add_argument("--config", required=True, help="run config, e.g. configs/default.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, nested keys with dots (training.epochs=1)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in <model>/checkpoints")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if is_main_process() else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from claimsort.config import load_config
    from claimsort.hub import write_model_card
    from claimsort.models import load_classifier
    from claimsort.reports import evaluate_rows
    from claimsort.training import (run_data, train_document, train_page_structure, train_tfidf,
                                    train_transformer, write_run_record)

    cfg = load_config(args.config, args.overrides)
    log.info("config:\n%s", json.dumps(cfg.to_dict(), indent=2))
    splits = run_data(cfg)
    log.info("segments per split: %s", {k: len(v) for k, v in splits.items()})

    model_dir = cfg.model_dir
    train_seconds = None
    if cfg.model.family == "tfidf":
        started = time.perf_counter()
        classifier = train_tfidf(cfg, splits)
        train_seconds = time.perf_counter() - started
    else:
        train = train_document if cfg.model.family == "document" else train_transformer
        started = time.perf_counter()
        trainer = train(cfg, splits, resume=args.resume)
        train_seconds = time.perf_counter() - started
        if os.environ.get("CLAIMSORT_RANK_LOG"):
            write_rank_log(trainer, os.environ["CLAIMSORT_RANK_LOG"])
        if not trainer.is_world_process_zero():
            return 0
        classifier = load_classifier(model_dir)
    if not is_main_process():
        return 0
    train_page_structure(cfg, model_dir)
    record = write_run_record(cfg, splits, model_dir, train_seconds=train_seconds)
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
