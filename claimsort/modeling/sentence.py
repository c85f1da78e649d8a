"""The sentence-only baseline: an ``AutoModelForSequenceClassification`` folder
(a plain Hugging Face model), optionally fed each segment with its position and
neighbours as a second text; in torch or ONNX Runtime (claimsort.modeling.onnx).
``predict_proba(documents)`` gives label probabilities in label-id order."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from claimsort.labels import LABELS
from claimsort.modeling.onnx import cpu_session, map_in_threads, onnx_file, pad_with


CLAIMSORT_META = "claimsort.json"


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


@dataclass(frozen=True)
class SentenceContract:
    """What serving must repeat of how the sentence-only model was trained: stored as
    the `claimsort` entry of its config.json (written by training, read here, the
    one place of its defaults)."""
    context: str = "none"  # "none" or "neighbours" (position and neighbours as a second text)
    context_window: int = 1  # neighbours on each side
    context_chars: int = 100  # characters kept of each neighbour
    max_length: int = 128  # tokens per input; the tokenizer's model_max_length
    labels: tuple = tuple(LABELS)

    @classmethod
    def of(cls, model_config) -> "SentenceContract":
        meta = dict(getattr(model_config, "claimsort", None) or {})
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "labels" else v) for k, v in meta.items() if k in known})

    def to_dict(self) -> dict:
        return {**asdict(self), "labels": list(self.labels)}


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
    def load(cls, folder: str | Path, device: str | None = None, fast: str = "none",
             backend: str = "torch") -> "TransformerClassifier":
        """The classifier in `folder`. fast: "none" (fp32) or "int8" (dynamic int8
        quantization of the weights); backend: "torch" or "onnx" (ONNX Runtime on the
        CPU, see OnnxClassifier)."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        contract = SentenceContract.of(model.config)
        serving = {"context": contract.context, "context_window": contract.context_window,
                   "max_length": contract.max_length, "context_chars": contract.context_chars}
        # The training length, not the base model's 512: whatever else uses this
        # tokenizer cuts where training did, and an input over 512 tokens never reaches
        # the position embeddings uncut (tokenize truncates to max_length).
        tokenizer.model_max_length = contract.max_length
        if backend == "onnx":
            return OnnxClassifier(model, tokenizer, folder, int8=fast == "int8", **serving)
        if fast == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if device:
            model = model.to(device)
        return cls(model, tokenizer, **serving)

    def tokenize(self, texts: list[str], pairs: list[str] | None) -> dict[str, list[list[int]]]:
        """Token ids (and type ids) of every input, truncated, not padded."""
        enc = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length)
        return {k: enc[k] for k in ("input_ids", "token_type_ids") if k in enc}

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Forward pass of one padded batch (int64 arrays by input name)."""
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(v).to(device) for k, v in batch.items()}).logits
        return out.float().cpu().numpy()

    def predict_proba(self, documents: list[list[dict]], batch_size: int = 32) -> np.ndarray:
        texts, pairs = build_inputs(documents, self.context, self.context_window, self.context_chars)
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        # A repeated input (a site's menu lines, "Advertisement", a byline) is classified
        # once: inverse maps every input to its first occurrence.
        first: dict = {}
        inverse = np.array([first.setdefault(key, len(first))
                            for key in (zip(texts, pairs) if pairs else texts)])
        if len(first) < len(texts):
            keep = np.unique(inverse, return_index=True)[1]
            texts, pairs = [texts[i] for i in keep], ([pairs[i] for i in keep] if pairs else None)
        # Tokenize once, then sort by token count: each batch holds segments of (nearly)
        # one length, so padding costs almost nothing. The input order is restored below.
        encoded = self.tokenize(texts, pairs)
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")

        def forward(start: int) -> tuple[np.ndarray, np.ndarray]:
            idx = order[start:start + batch_size]
            return idx, self.logits(pad_with(self.tokenizer, {k: [v[i] for i in idx] for k, v in encoded.items()}))

        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for idx, logits in self.map_batches(forward, range(0, len(order), batch_size)):
            logits -= logits.max(axis=-1, keepdims=True)
            proba = np.exp(logits)
            out[idx] = proba / proba.sum(axis=-1, keepdims=True)
        return out[inverse]

    def map_batches(self, forward, starts):
        """Run forward over the batch starts, in order (torch parallelises inside each batch)."""
        return map(forward, starts)


class OnnxClassifier(TransformerClassifier):
    """The same classifier run by ONNX Runtime on the CPU: the model exported to
    ONNX (fp32), or, with int8=True, its attention and layer norms fused by
    onnxruntime's transformer optimizer and its weights quantized to int8 (dynamic
    quantization). Inputs, batching and output are TransformerClassifier's; only the
    forward pass differs.

    The ONNX file is built once and cached in ``<model folder>/onnx/`` (keyed by the
    weights' hash), or in a temporary folder when the model folder is read-only.
    """

    def __init__(self, model, tokenizer, folder: Path, int8: bool = False, **kwargs):
        super().__init__(model, tokenizer, **kwargs)
        self.session, self.input_names, self.workers = cpu_session(onnx_file(model, tokenizer, Path(folder), int8))
        self.model = None  # the torch weights are not needed any more

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], {k: v for k, v in batch.items() if k in self.input_names})[0]

    def map_batches(self, forward, starts):
        return map_in_threads(forward, starts, self.workers)


