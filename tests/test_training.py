"""End to end on CPU with the smoke config: train -> save -> pipeline() -> evaluate,
reproducibility, kill-and-resume, and two-process data parallel training."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl, run_train

from claimsort.labels import LABELS

pytestmark = pytest.mark.slow


def test_model_folder_is_a_valid_hugging_face_model(smoke_model):
    """The document model trained by train.py: its own model type in config.json, safetensors,
    the tokenizer at the training length, AutoModel after `import claimsort`, the registered
    pipeline on a whole article, and no pickle outside checkpoints/."""
    config = json.loads((smoke_model / "config.json").read_text())
    assert config["model_type"] == "claimsort-document"
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    assert config["label2id"] == {label: i for i, label in enumerate(LABELS)}
    assert (config["window"], config["stride"], config["max_segment_tokens"]) == (8, 4, 64)
    assert (smoke_model / "model.safetensors").is_file()
    assert json.loads((smoke_model / "tokenizer_config.json").read_text())["model_max_length"] == 64
    pickles = [p for p in smoke_model.rglob("*") if p.suffix in (".bin", ".pkl", ".joblib", ".pt", ".pth")
               and "checkpoints" not in p.relative_to(smoke_model).parts]
    assert pickles == []
    import claimsort  # noqa: F401
    from transformers import AutoModel, pipeline

    from claimsort.modeling.document import DocumentClassifierModel

    assert isinstance(AutoModel.from_pretrained(smoke_model), DocumentClassifierModel)
    classify = pipeline("claimsort-document", model=str(smoke_model))
    out = classify("Minister denies report\n\nThe ministry said 40 people had died. Critics doubt it.\n\nShare this article\n")
    assert [o["text"] for o in out] == ["Minister denies report", "The ministry said 40 people had died.",
                                        "Critics doubt it.", "Share this article"]
    assert all(o["label"] in LABELS and abs(sum(o["probabilities"].values()) - 1) < 1e-4 for o in out)


def test_sentence_only_baseline_trains_and_serves_through_the_text_classification_pipeline(tmp_path):
    out = tmp_path / "sentence"
    run_train(out, "training.trainer.max_steps=4", "training.trainer.eval_steps=2", config="configs/smoke-sentence.yaml")
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    assert not (out / "training_args.bin").exists()
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(out))
    got = classifier(["The ministry said 40 people had died.", "Share this article"])
    assert [o["label"] in LABELS for o in got] == [True, True]
    assert (out / "eval/test/metrics.json").is_file()


def test_run_record_is_written(smoke_model):
    record = json.loads((smoke_model / "run.json").read_text())
    assert record["seed"] == 7
    assert set(record["data_fingerprint"]) == {"train", "dev", "dev_whole", "test"}
    assert "torch" in record["packages"] and "transformers" in record["packages"]
    assert "commit" in record["git"] and "dirty" in record["git"]
    assert (smoke_model / "config.yaml").is_file()


def test_head_stage_keeps_the_encoder_and_the_best_dev_epoch_of_a_new_head(smoke_model):
    """training.head_epochs: the folder holds the best end-to-end checkpoint's encoder
    and a retrained GRU and labelling layer, the epoch whose macro-F1 on the whole
    dev split (not the Trainer's dev sample) run.json records as best (recomputed
    here through the serving classifier)."""
    import numpy as np
    from safetensors.numpy import load_file
    from sklearn.metrics import f1_score

    from claimsort.config import load_config
    from claimsort.corpus import group_documents
    from claimsort.modeling.document import DocumentClassifier
    from claimsort.training import run_data

    history = json.loads((smoke_model / "run.json").read_text())["head_stage_dev_macro_f1"]
    assert len(history) == 2  # configs/training/smoke.yaml: head_epochs 2
    state = json.loads(next((smoke_model / "checkpoints").glob("*/trainer_state.json")).read_text())
    best = load_file(str(Path(state["best_model_checkpoint"]) / "model.safetensors"))
    saved = load_file(str(smoke_model / "model.safetensors"))
    encoder = [k for k in saved if k.startswith("segment_encoder.")]
    assert encoder and all(np.array_equal(saved[k], best[k]) for k in encoder)
    head = [k for k in saved if k.startswith(("sequence.", "classifier."))]
    assert head and all(not np.array_equal(saved[k], best[k]) for k in head)

    cfg = load_config(smoke_model / "config.yaml", check_paths=False)
    splits = run_data(cfg)
    assert len(splits["dev_whole"]) > len(splits["dev"])  # configs/smoke.yaml samples 100 dev segments
    dev = group_documents(splits["dev_whole"])
    proba = DocumentClassifier.load(smoke_model).predict_proba(dev)
    gold = [LABELS.index(r["label"]) for doc in dev for r in doc]
    f1 = f1_score(gold, proba.argmax(1), labels=list(range(len(LABELS))), average="macro", zero_division=0)
    assert abs(f1 - max(history)) < 1e-3
    assert f"best dev macro-F1 {max(history):.3f}" in (smoke_model / "README.md").read_text()  # the card says so


def test_evaluate_writes_metrics_and_report(smoke_model, tmp_path):
    test_rows = [r for r in read_jsonl(ROOT / "data/written/articles.jsonl") if r["split"] == "test"][:120]
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in test_rows))
    out = tmp_path / "eval"
    proc = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), "--model", str(smoke_model), "--data", str(data),
                           "--out", str(out), "--bootstrap", "200"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("macro_f1", "accuracy", "micro_f1", "weighted_f1", "cohen_kappa", "matthews_corrcoef",
                "macro_f1_ci95", "expected_calibration_error"):
        assert key in metrics
    assert set(metrics["per_class"]) == set(LABELS)
    for label in LABELS:
        assert set(metrics["per_class"][label]) >= {"precision", "recall", "f1", "support", "f1_ci95"}
    assert sum(c["support"] for c in metrics["per_class"].values()) == len(test_rows)
    assert (out / "report.md").read_text().startswith("# Evaluation report")
    assert "data:image/png;base64" in (out / "report.html").read_text()
    for name in ("confusion_matrix.png", "reliability.png", "errors.json", "predictions.jsonl"):
        assert (out / name).is_file()


def test_evaluate_reports_bad_data_with_file_and_line(smoke_model, tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"doc_id": "a", "sent_id": 0, "text": "x", "label": "nonsense"}\n')
    proc = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), "--model", str(smoke_model), "--data", str(data),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{data}:1: unknown label 'nonsense'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_same_seed_gives_identical_predictions_and_metrics(smoke_model, tmp_path):
    again = tmp_path / "again"
    run_train(again)
    assert (again / "eval/test/predictions.jsonl").read_text() == (smoke_model / "eval/test/predictions.jsonl").read_text()
    assert json.loads((again / "eval/test/metrics.json").read_text()) == \
        json.loads((smoke_model / "eval/test/metrics.json").read_text())


def test_killed_run_resumes_to_the_same_result(tmp_path):
    overrides = ("training.trainer.max_steps=8", "training.trainer.eval_steps=2", "training.trainer.save_total_limit=10")
    reference = tmp_path / "reference"
    run_train(reference, *overrides)

    interrupted = tmp_path / "interrupted"
    cmd = [sys.executable, str(ROOT / "train.py"), "--config", "configs/smoke.yaml", f"output_dir={interrupted}",
           *overrides]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMSORT_")}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not (interrupted / "checkpoints" / "checkpoint-4" / "trainer_state.json").exists():
        assert proc.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # let the checkpoint's files land
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (interrupted / "model.safetensors").exists(), "the run finished before the kill"
    assert not (interrupted / "checkpoints" / "checkpoint-8").exists()

    run_train(interrupted, *overrides, "--resume")
    assert (interrupted / "eval/test/predictions.jsonl").read_text() == \
        (reference / "eval/test/predictions.jsonl").read_text()
    assert json.loads((interrupted / "eval/test/metrics.json").read_text()) == \
        json.loads((reference / "eval/test/metrics.json").read_text())


def test_two_process_data_parallel_training_on_cpu(tmp_path):
    out = tmp_path / "ddp"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMSORT_")}
    env.update(OMP_NUM_THREADS="1", CLAIMSORT_RANK_LOG=str(tmp_path / "ranks"))
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or "torchrun"
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29533", str(ROOT / "train.py"),
                           "--config", "configs/smoke.yaml", f"output_dir={out}", "training.trainer.max_steps=4",
                           "training.trainer.eval_steps=2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in (tmp_path / "ranks").glob("rank-*.json")}
    assert sorted(ranks) == [0, 1]
    assert ranks[0]["world_size"] == ranks[1]["world_size"] == 2
    # both ranks end with the same weights (DDP keeps them in sync)
    assert ranks[0]["weights_checksum"] == ranks[1]["weights_checksum"]
    assert ranks[0]["wrote_model_folder"] is True and ranks[1]["wrote_model_folder"] is False
    assert (out / "model.safetensors").is_file() and (out / "eval/test/metrics.json").is_file()


def test_wandb_logs_offline_with_the_confusion_matrix_and_report(tmp_path):
    out = tmp_path / "model"
    run_train(out, "training.report_to=wandb", "training.trainer.max_steps=4", "training.trainer.eval_steps=2",
              env={"WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline"})
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, "one offline run, no account or network needed"
    media = runs[0] / "files" / "media"
    assert list(media.glob("table/test/confusion_matrix*.table.json"))
    assert list(media.glob("images/test/confusion_matrix_png*.png"))
    assert runs[0].joinpath(f"run-{runs[0].name.rsplit('-', 1)[1]}.wandb").stat().st_size > 0
