"""Weights & Biases extras beyond the Trainer's own logging: the evaluation
report, metrics and confusion matrix of each split, logged to the run the
Trainer opened (offline by default; `wandb sync wandb/` uploads later)."""
from __future__ import annotations

from pathlib import Path

from claimsort.labels import LABELS


def log_evaluation(model_dir: Path, results: dict) -> None:
    import wandb

    run = wandb.run
    if run is None:
        return
    for split, metrics in results.items():
        run.summary[f"{split}/macro_f1"] = metrics["macro_f1"]
        run.summary[f"{split}/accuracy"] = metrics["accuracy"]
        cm = metrics["confusion_matrix"]
        table = wandb.Table(columns=["gold", "predicted", "count"],
                            data=[[LABELS[i], LABELS[j], cm[i][j]] for i in range(len(LABELS)) for j in range(len(LABELS))])
        run.log({f"{split}/confusion_matrix": table,
                 f"{split}/confusion_matrix_png": wandb.Image(str(model_dir / "eval" / split / "confusion_matrix.png"))})
        artifact = wandb.Artifact(f"{run.name}-{split}-evaluation", type="evaluation")
        for name in ("metrics.json", "report.md", "report.html", "errors.json"):
            artifact.add_file(str(model_dir / "eval" / split / name))
        run.log_artifact(artifact)
    artifact = wandb.Artifact(f"{run.name}-config", type="config")
    artifact.add_file(str(model_dir / "config.yaml"))
    artifact.add_file(str(model_dir / "run.json"))
    run.log_artifact(artifact)
    run.finish()
