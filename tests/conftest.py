import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(ROOT))


def run_train(out_dir: Path, *overrides: str, config: str = "configs/smoke.yaml", env=None, check=True):
    """train.py in a subprocess (as a user runs it) with output_dir=out_dir."""
    cmd = [sys.executable, str(ROOT / "train.py"), "--config", config, f"output_dir={out_dir}", *overrides]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CLAIMSORT_PTC_DIR", None)
    full_env.pop("CLAIMSORT_WEB_PAGES_DIR", None)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"train.py failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session")
def smoke_model(tmp_path_factory) -> Path:
    """One smoke-config model, trained once for the tests that only read it."""
    out = tmp_path_factory.mktemp("models") / "smoke"
    run_train(out)
    return out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_transformer(tmp_path_factory) -> Path:
    """A transformer model folder as train.py writes one (a Hugging Face sequence
    classifier with the claimsort meta in its config), randomly initialised and
    tiny: it exercises the transformer path in seconds. (The session's smoke_model
    takes a minute and a half to train on two cores.)"""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from claimsort.labels import ID2LABEL, LABEL2ID, LABELS
    from claimsort.modeling.base_models import resolve_base_model

    folder = tmp_path_factory.mktemp("model") / "tiny-transformer"
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("all-MiniLM-L6-v2"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=ID2LABEL, label2id=LABEL2ID)
    config.claimsort = {"context": "neighbours", "context_window": 1, "max_length": 64, "labels": list(LABELS)}
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_document_model(tmp_path_factory) -> Path:
    """A document-model folder as train.py writes one (DocumentClassifierModel,
    safetensors, tokenizer with the training length), randomly initialised and tiny,
    with short windows (4 segments every 2) so that windows are exercised on short
    articles."""
    import torch
    from transformers import AutoTokenizer, BertConfig

    from claimsort.modeling.document import DocumentClassifierConfig, DocumentClassifierModel
    from claimsort.modeling.base_models import resolve_base_model

    folder = tmp_path_factory.mktemp("model") / "tiny-document"
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("all-MiniLM-L6-v2"))
    tokenizer.model_max_length = 32
    encoder = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    model = DocumentClassifierModel(DocumentClassifierConfig(
        encoder=encoder.to_dict(), sequence_hidden=16, window=4, stride=2, max_segment_tokens=32, head_tokens=16))
    for p in model.parameters():  # random, but not the near-uniform output of a fresh head
        torch.nn.init.normal_(p, std=0.3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
