from pathlib import Path

import pytest
from conftest import ROOT

from claimsort.io.errors import InputError
from claimsort.config import RunConfig, load_config

RUN_CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
PIECES = sorted(str(p.relative_to(ROOT / "configs")) for p in (ROOT / "configs").glob("*/*.yaml"))


def test_ships_the_required_configs():
    for name in ("default.yaml", "tfidf.yaml", "sentence.yaml", "smoke.yaml", "roberta-base.yaml", "deberta-v3-base.yaml"):
        assert name in RUN_CONFIGS


@pytest.mark.parametrize("name", RUN_CONFIGS)
def test_every_shipped_config_loads_and_validates(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CLAIMSORT_PTC_DIR", raising=False)
    cfg = load_config(ROOT / "configs" / name, check_paths=not name.startswith(("roberta", "deberta")))
    assert isinstance(cfg, RunConfig)
    assert cfg.name == Path(name).stem
    assert cfg.model_dir == Path("models") / cfg.name


@pytest.mark.parametrize("piece", PIECES)
def test_every_config_piece_is_used_by_a_run_config(piece):
    used = "\n".join((ROOT / "configs" / n).read_text() for n in RUN_CONFIGS)
    assert piece.removesuffix(".yaml") in used


def test_overrides_with_dotted_keys(monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = load_config("configs/smoke.yaml", ["training.trainer.learning_rate=0.001", "model.context=none", "seed=3",
                                             "output_dir=/tmp/x"])
    assert cfg.training.trainer["learning_rate"] == 0.001
    assert cfg.model.context == "none"
    assert cfg.seed == 3
    assert cfg.model_dir == Path("/tmp/x")


@pytest.mark.parametrize("override, message", [
    (["training.lerning_rate=0.1"], "unknown config key 'training.lerning_rate'"),
    (["bogus=1"], "unknown config key 'bogus'"),
    (["training.trainer.num_train_epochs=many"], "config key 'training.trainer.num_train_epochs': expected float"),
    (["training.trainer.per_device_train_batch_size=2.5"], "config key 'training.trainer.per_device_train_batch_size': expected int"),
    (["model.context=everything"], "config key 'model.context'"),
    (["model.pooling=max"], "config key 'model.pooling'"),
    (["training.trainer.no_such_setting=1"], "unknown config key 'training.trainer.no_such_setting'"),
    (["training.epochs=2"], "training.trainer.num_train_epochs=2"),
    (["data.ptc_dir=/no/such/dir"], "config key 'data.ptc_dir': directory /no/such/dir does not exist"),
    (["data.written=nope.jsonl"], "config key 'data.written': file nope.jsonl does not exist"),
    (["model.base_model=./no/such/model"], "folder does not exist"),
    (["training=3"], "config key 'training': expected a mapping"),
    (["training.head_epochs=-1"], "config key 'training.head_epochs': -1 is below 0"),
    (["training.head_batch_size=0"], "config key 'training.head_batch_size': 0 is below 1"),
    (["training.head_lr_scheduler_type=step"], "config key 'training.head_lr_scheduler_type'"),
    (["model.lexical_features=false", "model.lexical_context_words=true"],
     "model.lexical_context_words is set but model.lexical_features is not"),
])
def test_bad_configs_name_the_key(override, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises((InputError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("configs/smoke.yaml", override)


def test_bad_yaml_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="bad.yaml"):
        load_config(bad)


def test_saved_resolved_config_reloads_identically(tmp_path, monkeypatch):
    from claimsort.config import save_config

    monkeypatch.chdir(ROOT)
    cfg = load_config("configs/default.yaml", ["seed=5"])
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml").to_dict() == cfg.to_dict()


@pytest.mark.parametrize("written, value", [("5e-5", 5e-5), ("1e-4", 1e-4), ("5E-5", 5e-5), ("3", 3.0)])
def test_readme_learning_rate_override_in_exponent_notation_is_a_float(written, value, monkeypatch):
    """The README's own `training.trainer.learning_rate=5e-5`: YAML 1.1 reads 5e-5 as a string."""
    monkeypatch.chdir(ROOT)
    cfg = load_config("configs/default.yaml", [f"training.trainer.learning_rate={written}", "seed=1",
                                               "output_dir=models/lr5e-5"])
    assert cfg.training.trainer["learning_rate"] == value and isinstance(cfg.training.trainer["learning_rate"], float)


def test_config_file_with_exponent_notation_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = tmp_path / "lr.yaml"
    run.write_text("defaults: [data/written, model/minilm-context, training/smoke]\n"
                   "training:\n  learning_rate: 2e-5\n  head_learning_rate: 1E-3\n")
    cfg = load_config(run)
    assert (cfg.training.trainer["learning_rate"], cfg.training.head_learning_rate) == (2e-5, 1e-3)


def test_train_with_a_non_number_learning_rate_names_the_key_and_exits_2():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", "configs/smoke.yaml",
                           "training.trainer.learning_rate=fast"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error: config key 'training.trainer.learning_rate': expected float, got 'fast'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("missing", ["torch", "transformers"])
def test_train_run_by_a_python_outside_the_venv_says_how_to_run_it(tmp_path, missing):
    """A Python without torch or transformers (a shadowing package that is not
    importable stands in for it) gets one line, not a ModuleNotFoundError traceback."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "site" / missing
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{missing}'\", name='{missing}')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", "configs/smoke.yaml"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {missing} is not installed for {sys.executable}; run "
                                   "`.venv/bin/python train.py ...` or `make train` (`make install` creates .venv)")
