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
    from claimsort.io.errors import InputError
    from claimsort.modeling.loading import load_classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_document_model, folder)
    message = DAMAGES[damage](folder)
    with pytest.raises(InputError) as e:
        load_classifier(folder)
    assert str(e.value).startswith(message)


def test_a_tokenizer_of_another_vocabulary_is_refused(tiny_transformer, tmp_path):
    from claimsort.io.errors import InputError
    from claimsort.modeling.loading import load_classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_transformer, folder)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())  # a WordPiece vocabulary of 1,000 tokens
    tokenizer["model"]["vocab"] = dict(list(tokenizer["model"]["vocab"].items())[:1000])
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(InputError, match="they do not belong together"):
        load_classifier(folder, backend="torch")


def test_both_model_families_load_and_classify(tiny_transformer, tiny_document_model):
    from claimsort.modeling.loading import load_classifier

    docs = [[{"text": "The ministry said so."}, {"text": "Share this article"}]]
    for folder in (tiny_transformer, tiny_document_model):
        proba = load_classifier(folder, backend="torch").predict_proba(docs)
        assert proba.shape == (2, 4) and np.allclose(proba.sum(1), 1, atol=1e-4)


def test_predict_on_a_segment_over_512_tokens_truncates_it(tiny_transformer):
    """The tiny model has 128 positions: an uncut 3,000-word segment would crash it."""
    from claimsort.modeling.loading import load_classifier

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


# --------------------------------------------------------------------------- #
# No pickles: the TF-IDF model in a safe format; hub push refuses a pickle
# --------------------------------------------------------------------------- #
def _tfidf(folder: Path):
    from test_predict import TRAINING

    from claimsort.modeling.tfidf import TfidfClassifier

    clf = TfidfClassifier.create(seed=0).fit([{"text": t, "label": l} for l, ts in TRAINING.items() for t in ts])
    clf.save(folder)
    return clf


def test_tfidf_model_saved_and_loaded_without_pickle_predicts_exactly_the_same(tmp_path, monkeypatch):
    import pickle

    import joblib
    from test_predict import article

    from claimsort.modeling.loading import load_classifier

    clf = _tfidf(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claimsort.json", "tfidf.json", "tfidf.npz"]

    def refuse(*args, **kwargs):
        raise AssertionError("a model folder was unpickled")

    for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)
    docs = [[{"text": line} for line in article(i).splitlines()] for i in range(12)] + [[{"text": "Zebra words."}]]
    assert np.array_equal(load_classifier(tmp_path).predict_proba(docs), clf.predict_proba(docs))


def test_predict_with_an_old_tfidf_model_joblib_says_how_to_convert_it(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"\x80\x04not loaded")
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), "README.md", "--model", str(tmp_path), "--out",
                           str(tmp_path / "p.jsonl")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"error: {tmp_path / 'model.joblib'}: a pickle from an older claimsort, which is no longer loaded (unpickling "
        f"runs whatever code the file carries); convert the folder: retrain it with `python train.py --config "
        f"{tmp_path / 'config.yaml'}` (a TF-IDF model trains in a minute), then delete model.joblib")


def hub_push(folder, tmp_path, **env):
    import os

    full = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    full.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0", **env)
    return subprocess.run([sys.executable, "-m", "claimsort.cli.hub", "push", str(folder), "--repo-id", "someone/x"],
                          cwd=ROOT, env=full, capture_output=True, text=True, timeout=120)


def test_hub_push_of_a_folder_holding_a_pickle_is_refused(tmp_path):
    folder = tmp_path / "model"
    _tfidf(folder)
    (folder / "README.md").write_text("card")
    (folder / "page_structure.joblib").write_bytes(b"x")
    (folder / "checkpoints" / "checkpoint-5").mkdir(parents=True)
    (folder / "checkpoints" / "checkpoint-5" / "training_args.bin").write_bytes(b"x")  # never uploaded: allowed
    proc = hub_push(folder, tmp_path, HF_TOKEN="hf_not_a_real_token")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"error: {folder} holds pickle files (page_structure.joblib), which run "
                                          "code when loaded and which the Hub flags")
    assert proc.stderr.strip().endswith("nothing was uploaded")


def test_hub_push_of_a_folder_that_does_not_exist_says_so(tmp_path):
    proc = hub_push(tmp_path / "nope", tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {tmp_path / 'nope'}: no such model folder; nothing was uploaded"


def test_hub_push_with_a_token_but_no_network_is_one_line(tmp_path):
    folder = tmp_path / "model"
    _tfidf(folder)
    (folder / "README.md").write_text("card")
    proc = hub_push(folder, tmp_path, HF_TOKEN="hf_not_a_real_token", HF_ENDPOINT="http://127.0.0.1:9")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: uploading {folder} to someone/x on http://127.0.0.1:9 "
                                                   "failed (")
    assert lines[0].endswith("check the network and the token")


def test_no_model_folder_train_py_writes_holds_a_pickle_outside_checkpoints(smoke_model, monkeypatch):
    import pickle

    import joblib

    from claimsort.modeling.loading import PICKLE_SUFFIXES, load_classifier

    found = [str(p.relative_to(smoke_model)) for p in smoke_model.rglob("*")
             if p.suffix in PICKLE_SUFFIXES and p.relative_to(smoke_model).parts[0] != "checkpoints"]
    assert found == []

    def refuse(*args, **kwargs):
        raise AssertionError("a model folder was unpickled")

    for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)
    load_classifier(smoke_model, backend="torch")
