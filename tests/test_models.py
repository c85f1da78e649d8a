"""Loading a model folder, as predict.py and evaluate.py do: a damaged or incomplete
folder is a one-line error naming the file (exit 2), never a traceback and never a
silently wrong result (a tokenizer without its vocabulary turns every word into
[UNK]); over-long input is truncated, never a crash."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

DAMAGED = "the model folder is damaged or incomplete: copy it again, or retrain it with train.py"


def damage_missing_weights(folder: Path) -> str:
    (folder / "model.safetensors").unlink()
    return f"{folder / 'model.safetensors'}: missing; {DAMAGED}"


def damage_truncated_weights(folder: Path) -> str:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return f"{weights}: unreadable ("


def damage_broken_config(folder: Path) -> str:
    config = folder / "config.json"
    config.write_text(config.read_text()[:-40])
    return f"{config}:"


def damage_missing_tokenizer_json(folder: Path) -> str:
    (folder / "tokenizer.json").unlink()
    return f"{folder / 'tokenizer.json'}: missing (the tokenizer has no vocabulary, so every word would be unknown)"


DAMAGES = {f.__name__.removeprefix("damage_"): f for f in
           (damage_missing_weights, damage_truncated_weights, damage_broken_config, damage_missing_tokenizer_json)}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_predict_with_a_damaged_model_folder_names_the_file(tiny_transformer, tmp_path, damage):
    folder = tmp_path / "model"
    shutil.copytree(tiny_transformer, folder)
    message = DAMAGES[damage](folder)
    (tmp_path / "a.txt").write_text("The ministry said the bridge would reopen.\n")
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), str(tmp_path / "a.txt"), "--model", str(folder),
                           "--out", str(tmp_path / "p.jsonl"), "--no-progress"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert f"error: {message}" in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["missing_tokenizer_json", "truncated_weights", "broken_config"])
def test_document_model_folder_damage_is_named_too(tiny_document_model, tmp_path, damage):
    from claimsort.corpus import DataError
    from claimsort.models import load_classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_document_model, folder)
    message = DAMAGES[damage](folder)
    with pytest.raises(DataError) as e:
        load_classifier(folder)
    assert str(e.value).startswith(message)


def test_a_tokenizer_of_another_vocabulary_is_refused(tiny_transformer, tmp_path):
    from claimsort.corpus import DataError
    from claimsort.models import load_classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_transformer, folder)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())  # a WordPiece vocabulary of 1,000 tokens
    tokenizer["model"]["vocab"] = dict(list(tokenizer["model"]["vocab"].items())[:1000])
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(DataError, match="they do not belong together"):
        load_classifier(folder, backend="torch")


def test_both_model_families_load_and_classify(tiny_transformer, tiny_document_model):
    from claimsort.models import load_classifier

    docs = [[{"text": "The ministry said so."}, {"text": "Share this article"}]]
    for folder in (tiny_transformer, tiny_document_model):
        proba = load_classifier(folder, backend="torch").predict_proba(docs)
        assert proba.shape == (2, 4) and np.allclose(proba.sum(1), 1, atol=1e-4)


def test_predict_on_a_segment_over_512_tokens_truncates_it(tiny_transformer):
    """The tiny model has 128 positions: an uncut 3,000-word segment would crash it."""
    from claimsort.models import load_classifier

    classifier = load_classifier(tiny_transformer, backend="torch")
    assert classifier.tokenizer.model_max_length == 64  # the training length, not the base model's 512
    long_segment = " ".join(["officials said the bridge would reopen"] * 500)
    proba = classifier.predict_proba([[{"text": long_segment}, {"text": "Share this article"}]])
    assert proba.shape == (2, 4) and np.isfinite(proba).all()


def test_train_with_a_base_model_neither_a_folder_nor_cached_offline_is_a_clear_error(tmp_path):
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", "configs/smoke.yaml",
                           "model.base_model=someone/no-such-model", f"output_dir={tmp_path / 'm'}"],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert ("error: config key 'model.base_model': 'someone/no-such-model' is neither a folder nor in the "
            "Hugging Face cache, and HF_HUB_OFFLINE=1 forbids downloading it") in proc.stderr
    assert "Traceback" not in proc.stderr
