"""Training throughput of a run config: the real Trainer for a fixed number of steps.

    python bench/training_throughput.py [--config configs/default.yaml] [--steps 30]
        [--threads 2] [--all-sources] [key=value ...]

Calls claimsort.training.train_transformer with the config from
claimsort.config.load_config(path, overrides) and, on top of the overrides given,
training.trainer.max_steps=STEPS, training.report_to=none, training.torch_threads=THREADS,
no evaluation during the run (eval_steps past the last step) and output_dir in a
temporary folder. Data: the written corpus only (the PTC / web-pages folders and
their environment variables are ignored unless --all-sources). Reports the
Trainer's own train_samples_per_second (segments/s), train_steps_per_second and
train_runtime.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from _common import ROOT, markdown_table, write_result  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml", help="run config")
    parser.add_argument("--steps", type=int, default=30, help="optimiser steps (training.trainer.max_steps)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (training.torch_threads)")
    parser.add_argument("--all-sources", action="store_true",
                        help="use the PTC / web-pages folders of the config or environment too")
    parser.add_argument("overrides", nargs="*", help="extra config overrides, key=value")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.chdir(ROOT)  # config paths (data/...) are relative to the checkout

    from claimsort.config import load_config
    from claimsort.training import run_data, train_transformer

    overrides = list(args.overrides)
    if not args.all_sources:
        for env in ("CLAIMSORT_PTC_DIR", "CLAIMSORT_WEB_PAGES_DIR"):
            os.environ.pop(env, None)
        overrides += ["data.ptc_dir=null", "data.web_pages_dir=null"]
    overrides += [f"training.trainer.max_steps={args.steps}", "training.report_to=none",
                  f"training.torch_threads={args.threads}", f"training.trainer.eval_steps={args.steps + 1_000_000}"]
    with tempfile.TemporaryDirectory(prefix="claimsort-train-bench-") as tmp:
        cfg = load_config(args.config, overrides + [f"output_dir={tmp}/model"])
        if cfg.model.family != "transformer":
            raise SystemExit(f"{args.config}: model.family is {cfg.model.family!r}; only transformer runs use the Trainer")
        splits = run_data(cfg)
        trainer = train_transformer(cfg, splits)
        metrics = next(e for e in reversed(trainer.state.log_history) if "train_samples_per_second" in e)
        device = str(trainer.args.device)

    batch = trainer.args.per_device_train_batch_size * trainer.args.gradient_accumulation_steps * max(1, trainer.args.world_size)
    row = [Path(args.config).name, cfg.model.base_model, f"{cfg.model.context} / {cfg.model.max_length}",
           f"{batch}", f"{args.steps}", f"{metrics['train_runtime']:.1f}",
           f"{metrics['train_samples_per_second']:.1f}", f"{metrics['train_steps_per_second']:.3f}", device]
    table = markdown_table(["config", "base model", "context / max_length", "batch", "steps", "train s",
                            "train segments/s", "steps/s", "device"], [row])
    sources = "all sources of the config" if args.all_sources else "the written corpus only"
    notes = [f"The real Trainer (claimsort.training.train_transformer) for {args.steps} optimiser steps on "
             f"{sources} ({len(splits['train']):,} training segments available), no evaluation during the run, "
             f"{args.threads} torch threads. Segments/s and steps/s are the Trainer's train_samples_per_second "
             "and train_steps_per_second (model loading and tokenisation not included)."
             + (f" Extra overrides: {' '.join(args.overrides)}." if args.overrides else "")]
    write_result("training_throughput", "Training throughput", table, notes, torch_threads=args.threads,
                 reproduce=f"python bench/training_throughput.py --config {args.config} --steps {args.steps} "
                           f"--threads {args.threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
