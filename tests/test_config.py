from pathlib import Path

import pytest
from conftest import ROOT

from claimsort.config import ConfigError, RunConfig, load_config

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
    cfg = load_config("configs/smoke.yaml", ["training.learning_rate=0.001", "model.context=none", "seed=3",
                                             "output_dir=/tmp/x"])
    assert cfg.training.learning_rate == 0.001
    assert cfg.model.context == "none"
    assert cfg.seed == 3
    assert cfg.model_dir == Path("/tmp/x")


@pytest.mark.parametrize("override, message", [
    (["training.lerning_rate=0.1"], "unknown config key 'training.lerning_rate'"),
    (["bogus=1"], "unknown config key 'bogus'"),
    (["training.epochs=many"], "config key 'training.epochs': expected float"),
    (["training.batch_size=2.5"], "config key 'training.batch_size': expected int"),
    (["model.context=everything"], "config key 'model.context': 'everything' is not one of"),
    (["data.ptc_dir=/no/such/dir"], "config key 'data.ptc_dir': directory /no/such/dir does not exist"),
    (["data.written=nope.jsonl"], "config key 'data.written': file nope.jsonl does not exist"),
    (["model.base_model=./no/such/model"], "folder does not exist"),
    (["training=3"], "config key 'training': expected a mapping"),
])
def test_bad_configs_name_the_key(override, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises((ConfigError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("configs/smoke.yaml", override)


def test_bad_yaml_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)


def test_saved_resolved_config_reloads_identically(tmp_path, monkeypatch):
    from claimsort.config import save_config

    monkeypatch.chdir(ROOT)
    cfg = load_config("configs/default.yaml", ["seed=5"])
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml").to_dict() == cfg.to_dict()
