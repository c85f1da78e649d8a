"""The document model: read the article, not the sentence.

Each segment is encoded once by a transformer encoder (mean of its token vectors),
then a bidirectional GRU runs over the article's segment vectors, each with its
position in the article, and a linear layer labels every segment from the GRU's
state and its own vector. This is the hierarchical sequential-sentence classifier
of Jin & Szolovits (2018) and Cohan et al. (2019), trained end to end.

An article longer than ``window`` segments is read in windows of ``window``
consecutive segments that start every ``stride`` segments (the last one ends at
the article's end). Windows overlap, so that every segment is judged with context
on both sides: each segment takes its label from the window where it lies
farthest from an edge (its *owner*). Training, evaluation and inference use the
same windows (:func:`windows`, :func:`owners`).

A Hugging Face citizen with no remote code: :class:`DocumentClassifierConfig`
(``model_type: claimsort-document``; the train-to-serve contract in
``config.json``: labels, window, stride, max_length, head_tokens, pooling,
position features) and :class:`DocumentClassifierModel`, a ``PreTrainedModel``
registered with ``AutoConfig``/``AutoModel`` when ``claimsort`` is imported.
:class:`DocumentClassifier` is the one object predict.py, evaluate.py, the
benchmarks and the ``claimsort-document`` pipeline call.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import TokenClassifierOutput

from claimsort.labels import ID2LABEL, LABEL2ID, LABELS

MODEL_TYPE = "claimsort-document"
# Each segment's place in its article, as the sequence layer sees it.
POSITION_FEATURES = ("relative_position", "is_first", "is_last", "from_start", "from_end", "article_length")
# With lexical_features: the folder where the word n-gram model is kept, beside the weights.
LEXICAL_FOLDER = "lexical"

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- #
# The contract and the model
# --------------------------------------------------------------------------- #
class DocumentClassifierConfig(PretrainedConfig):
    """Everything training fixed that serving must repeat, in config.json.

    encoder: the segment encoder's own config (a dict, as its config.json holds it).
    pooling: 'mean' (of the token vectors; all-MiniLM-L6-v2 was trained so) or 'cls'.
    sequence_hidden / sequence_layers: size and depth of the bidirectional GRU.
    window / stride: segments per window and the step between window starts.
    max_segment_tokens: tokens kept of a segment; a longer one keeps its first
    head_tokens and its last (max_segment_tokens - head_tokens - 2) tokens.
    lexical_features: the GRU and the labelling layer also read each segment's class
    log-probabilities from a word n-gram model kept in the folder's lexical/
    (see :func:`lexical_inputs`).
    """

    model_type = MODEL_TYPE

    def __init__(self, encoder: dict | None = None, pooling: str = "mean", sequence_hidden: int = 256,
                 sequence_layers: int = 1, dropout: float = 0.1, window: int = 32, stride: int = 16,
                 max_segment_tokens: int = 128, head_tokens: int = 64, position_features=POSITION_FEATURES,
                 lexical_features: bool = False, **kwargs):
        kwargs.setdefault("id2label", dict(ID2LABEL))
        kwargs.setdefault("label2id", dict(LABEL2ID))
        super().__init__(**kwargs)
        self.encoder = encoder or {}
        self.pooling = pooling
        self.sequence_hidden = sequence_hidden
        self.sequence_layers = sequence_layers
        self.dropout = dropout
        self.window = window
        self.stride = stride
        self.max_segment_tokens = max_segment_tokens
        self.head_tokens = head_tokens
        self.position_features = list(position_features)
        self.lexical_features = bool(lexical_features)


class SegmentEncoder(nn.Module):
    """A transformer encoder that turns each segment's tokens into one vector."""

    def __init__(self, encoder: nn.Module, pooling: str):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.freeze_unused()

    def freeze_unused(self) -> None:
        """The encoder's own pooler (BERT's dense layer on [CLS]) is not used by this
        pooling: no gradient for it (data-parallel training refuses unused parameters)."""
        for name, p in self.encoder.named_parameters():
            if name.startswith("pooler."):
                p.requires_grad_(False)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class DocumentClassifierModel(PreTrainedModel):
    """Segment encoder -> bidirectional GRU over the window's segments -> labels.

    forward takes the segments of a batch of windows flattened: ``input_ids`` and
    ``attention_mask`` [N, T] for the N segments, ``segment_index`` [N] (where each
    sits in the [B, S] grid of windows), ``positions`` [B, S, P] and
    ``window_lengths`` [B]; ``labels`` [B, S] with -100 where nothing is scored.
    It returns logits [B, S, num_labels].
    """

    config_class = DocumentClassifierConfig
    base_model_prefix = "claimsort"
    main_input_name = "input_ids"
    # Segments are encoded in chunks of about this many, each padded to its own
    # longest segment (sorted by length first): a batch of windows holds hundreds of
    # segments of very different lengths, and padding them all to the longest would
    # multiply the encoder's work several times.
    encode_chunk = 64

    def __init__(self, config: DocumentClassifierConfig):
        super().__init__(config)
        encoder_config = AutoConfig.for_model(**config.encoder)
        self.segment_encoder = SegmentEncoder(AutoModel.from_config(encoder_config), config.pooling)
        # each segment's vector, and with lexical_features its word n-gram model's view
        width = encoder_config.hidden_size + (len(LABELS) if config.lexical_features else 0)
        self.sequence = nn.GRU(width + len(config.position_features), config.sequence_hidden,
                               num_layers=config.sequence_layers, batch_first=True, bidirectional=True,
                               dropout=config.dropout if config.sequence_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.sequence_hidden + width, config.num_labels)
        self.post_init()

    def _init_weights(self, module):
        # Only the layers on top are ours; the encoder's own weights come from its checkpoint.
        if module is self.classifier:
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    @classmethod
    def from_encoder(cls, encoder_path: str, **config_kwargs) -> "DocumentClassifierModel":
        """A new document model around a pretrained encoder (hub id or folder)."""
        encoder_config = AutoConfig.from_pretrained(encoder_path)
        config = DocumentClassifierConfig(encoder=encoder_config.to_dict(), **config_kwargs)
        model = cls(config)
        model.segment_encoder.encoder = AutoModel.from_pretrained(encoder_path)
        model.segment_encoder.freeze_unused()
        return model

    def encode(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        """One vector per segment, [N, hidden], in input order."""
        lengths = attention_mask.sum(1)
        order = torch.argsort(lengths, stable=True)
        out = None
        for start in range(0, len(order), self.encode_chunk):
            idx = order[start:start + self.encode_chunk]
            width = int(lengths[idx].max())
            vectors = self.segment_encoder(
                input_ids[idx, :width], attention_mask[idx, :width],
                None if token_type_ids is None else token_type_ids[idx, :width])
            if out is None:
                out = vectors.new_zeros(len(order), vectors.shape[-1])
            out = out.index_copy(0, idx, vectors)
        return out

    def head(self, grid: torch.Tensor, positions: torch.Tensor, window_lengths: torch.Tensor,
             lexical: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, S, labels] from segment vectors [B, S, H] laid out in windows (and,
        with lexical_features, the segments' lexical inputs [B, S, labels])."""
        if self.config.lexical_features:
            if lexical is None:
                raise ValueError("this document model reads lexical features (config.lexical_features): pass "
                                 "`lexical`, or run it through claimsort's DocumentClassifier / pipeline")
            grid = torch.cat([grid, lexical.to(grid.dtype)], dim=-1)
        features = torch.cat([grid, positions.to(grid.dtype)], dim=-1)
        packed = nn.utils.rnn.pack_padded_sequence(features, window_lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = self.sequence(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=grid.shape[1])
        return self.classifier(self.dropout(torch.cat([states, grid], dim=-1)))

    def forward(self, input_ids, attention_mask, segment_index, positions, window_lengths,
                token_type_ids=None, labels=None, lexical=None, **kwargs):
        batch, slots = positions.shape[:2]
        vectors = self.dropout(self.encode(input_ids, attention_mask, token_type_ids))
        grid = vectors.new_zeros(batch * slots, vectors.shape[-1]).index_copy(0, segment_index, vectors)
        logits = self.head(grid.view(batch, slots, -1), positions, window_lengths, lexical)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                               ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)


def register() -> None:
    """Make AutoConfig / AutoModel know the document model (called on `import claimsort`)."""
    try:
        AutoConfig.register(MODEL_TYPE, DocumentClassifierConfig)
        AutoModel.register(DocumentClassifierConfig, DocumentClassifierModel)
    except ValueError:  # already registered
        pass


# --------------------------------------------------------------------------- #
# Windows, positions and tokens: shared by training and serving
# --------------------------------------------------------------------------- #
def windows(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) of the windows over n segments; the last one ends at n."""
    if n <= window:
        return [(0, n)]
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] + window < n:
        starts.append(n - window)
    return [(s, s + window) for s in starts]


def owners(n: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """For each segment, the index of the window where it lies farthest from an edge
    (the article's own start and end are not edges: nothing lies beyond them)."""
    best = np.full(n, -1)
    margin = np.full(n, -1.0)
    for w, (start, end) in enumerate(spans):
        for i in range(start, end):
            left = math.inf if start == 0 else i - start
            right = math.inf if end == n else end - 1 - i
            m = min(left, right)
            m = 1e9 if m == math.inf else m
            if m > margin[i]:
                best[i], margin[i] = w, m
    return best


def position_features(n: int) -> np.ndarray:
    """POSITION_FEATURES of each of n segments, [n, P] float32."""
    i = np.arange(n, dtype=np.float32)
    return np.stack([
        i / max(n - 1, 1),
        (i == 0).astype(np.float32),
        (i == n - 1).astype(np.float32),
        np.minimum(i, 10) / 10,
        np.minimum(n - 1 - i, 10) / 10,
        np.full(n, min(math.log1p(n) / 6, 1.5), dtype=np.float32),
    ], axis=1).astype(np.float32)


def tokenize_segments(tokenizer, texts: list[str], max_length: int, head_tokens: int) -> list[list[int]]:
    """Token ids of each segment; one longer than max_length keeps its head and its
    tail (the end of a long sentence is often where the writer's verdict is)."""
    if not texts:
        return []
    enc = tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    head = min(head_tokens, max_length - 2)
    tail = max_length - 2 - head
    out = []
    for ids in enc:
        if len(ids) > max_length:
            ids = ids[:1 + head] + (ids[-1 - tail:-1] if tail > 0 else []) + ids[-1:]
        out.append(ids)
    return out


def window_grid(per_window, fill: float = 0.0, dtype=torch.float32) -> torch.Tensor:
    """Windows' per-segment values (one array-like [n_b, ...] each) laid into one
    padded tensor [windows, longest n, ...], `fill` past each window's end: the one
    layout the sequence layer reads, for training, the head stage and serving."""
    per_window = [x.to(dtype) if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=dtype)
                  for x in per_window]
    slots = max(len(x) for x in per_window)
    grid = torch.full((len(per_window), slots, *per_window[0].shape[1:]), fill, dtype=dtype)
    for b, x in enumerate(per_window):
        grid[b, :len(x)] = x
    return grid


def collate_windows(examples: list[dict], tokenizer) -> dict[str, torch.Tensor]:
    """A batch of windows -> the flat tensors DocumentClassifierModel.forward takes
    (the segments' tokens padded by tokenizer.pad).

    Each example: ``input_ids`` (one token list per segment), ``positions`` [S, P],
    optionally ``lexical`` [S, labels] and ``labels`` (one per segment, -100 where
    unscored)."""
    slots = max(len(ex["input_ids"]) for ex in examples)
    padded = tokenizer.pad({"input_ids": [ids for ex in examples for ids in ex["input_ids"]]}, padding=True,
                           return_tensors="pt")
    lengths = [len(ex["input_ids"]) for ex in examples]
    batch = {"input_ids": padded["input_ids"].long(), "attention_mask": padded["attention_mask"].long(),
             "segment_index": torch.tensor([b * slots + s for b, k in enumerate(lengths) for s in range(k)]),
             "positions": window_grid([ex["positions"] for ex in examples]),
             "window_lengths": torch.tensor(lengths)}
    if "lexical" in examples[0]:
        batch["lexical"] = window_grid([ex["lexical"] for ex in examples])
    if "labels" in examples[0]:
        batch["labels"] = window_grid([ex["labels"] for ex in examples], fill=-100, dtype=torch.long)
    return batch


def document_windows(token_ids: list[list[int]], config: DocumentClassifierConfig, labels: list[int] | None = None,
                     owned_only: bool = False, lexical: np.ndarray | None = None) -> list[dict]:
    """The windows of one article as model examples. owned_only: score each segment in
    its owner window only (evaluation), else everywhere it appears (training).
    lexical: the article's lexical inputs [n, labels] (lexical_features models)."""
    n = len(token_ids)
    spans = windows(n, config.window, config.stride)
    owner = owners(n, spans)
    positions = position_features(n)
    out = []
    for w, (start, end) in enumerate(spans):
        ex = {"input_ids": token_ids[start:end], "positions": positions[start:end].tolist(), "span": (start, end)}
        if lexical is not None:
            ex["lexical"] = lexical[start:end].tolist()
        if labels is not None:
            ex["labels"] = [labels[i] if (not owned_only or owner[i] == w) else -100 for i in range(start, end)]
        out.append(ex)
    return out


# --------------------------------------------------------------------------- #
# Lexical inputs: a word n-gram model's view of each segment
# --------------------------------------------------------------------------- #
# Most of the model's errors are about who speaks (a public authority or not) and
# whose voice a sentence is in; the cues are often single words ("ministry",
# "spokesman", "so-called"). A TF-IDF logistic regression over word n-grams
# (claimsort.modeling.tfidf) read beside the encoder's vectors helped on dev
# (bench/results/lexical_features.md).
def lexical_inputs(proba: np.ndarray) -> np.ndarray:
    """The n-gram model's class probabilities [n, labels] as the head reads them."""
    return np.log(np.asarray(proba, dtype=np.float32) + 1e-4)


def create_lexical_model(seed: int, context_words: bool = False):
    from claimsort.modeling.tfidf import TfidfClassifier

    return TfidfClassifier.create(ngram_max=2, char_ngrams=False, seed=seed, context_words=context_words)


def fit_lexical(train_rows: list[dict], seed: int, folds: int = 5, context_words: bool = False):
    """The n-gram model fitted on all training rows, and each training row's lexical
    inputs out of fold (from a model fitted on the other folds' articles): the head
    trains on what it will see at inference, not on the model's memory of the row."""
    from sklearn.model_selection import GroupKFold

    from claimsort.corpus import group_documents

    groups = np.array([r["doc_id"] for r in train_rows])
    k = min(folds, len(set(groups)))
    if k < 2:
        raise ValueError("lexical_features needs at least 2 training articles (the out-of-fold fit)")
    oof = np.zeros((len(train_rows), len(LABELS)), dtype=np.float32)
    for fit_idx, held_idx in GroupKFold(n_splits=k).split(np.zeros(len(groups)), groups=groups):
        fold_model = create_lexical_model(seed, context_words).fit([train_rows[i] for i in fit_idx])
        # a fold holds whole articles, so its rows stay in their articles' order
        oof[held_idx] = fold_model.predict_proba(group_documents([train_rows[i] for i in held_idx]))
    return create_lexical_model(seed, context_words).fit(train_rows), lexical_inputs(oof)


# --------------------------------------------------------------------------- #
# Serving
# --------------------------------------------------------------------------- #
class DocumentClassifier:
    """The document model as predict.py, evaluate.py, the benchmarks and the pipeline
    use it: ``predict_proba(documents)`` over lists of segment rows, in label order.

    The segment encoder runs in PyTorch or, on a CPU, in ONNX Runtime (fp32, or fused
    with int8 weights: ``fast="int8"``); the GRU and the labelling layer, a small part
    of the work, run in PyTorch either way.
    """

    def __init__(self, model: DocumentClassifierModel, tokenizer, backend: str = "torch", folder: Path | None = None,
                 int8: bool = False):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = model.config
        self.backend = backend
        self.session = None
        self.workers = 1
        self.lexical = None
        if self.config.lexical_features:
            from claimsort.io.errors import InputError
            from claimsort.modeling.tfidf import TFIDF_FILE, TfidfClassifier

            where = self._lexical_folder(folder)
            if not (where / TFIDF_FILE).is_file():
                raise InputError(f"{where / TFIDF_FILE}: missing (this document model reads lexical features, "
                                 f"and its folder must hold the word n-gram model it was trained with)")
            self.lexical = TfidfClassifier.load(where)
        if backend == "onnx":
            from claimsort.modeling.onnx import cpu_session, onnx_file

            path = onnx_file(self.model.segment_encoder, tokenizer, Path(folder), int8,
                             model_type=self.config.encoder.get("model_type", ""),
                             encoder_config=self.config.encoder, output_name="vectors")
            self.session, self.input_names, self.workers = cpu_session(path)
        elif int8:
            self.model.segment_encoder = torch.ao.quantization.quantize_dynamic(
                self.model.segment_encoder, {nn.Linear}, dtype=torch.qint8)

    def _lexical_folder(self, folder) -> Path:
        """The folder's lexical/; for a model loaded from the Hub by id, that of its repo."""
        if folder is not None:
            return Path(folder) / LEXICAL_FOLDER
        name = getattr(self.model, "name_or_path", "") or ""
        if name and not Path(name).exists():
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(name, allow_patterns=[f"{LEXICAL_FOLDER}/*"])) / LEXICAL_FOLDER
        return Path(name or ".") / LEXICAL_FOLDER

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None, fast: str = "none",
             backend: str = "torch") -> "DocumentClassifier":
        from transformers import AutoTokenizer

        folder = Path(folder)
        model = DocumentClassifierModel.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if device and backend == "torch":
            model = model.to(device)
        return cls(model, tokenizer, backend=backend, folder=folder, int8=fast == "int8")

    # -- the segment vectors -------------------------------------------------
    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        from claimsort.modeling.onnx import pad_with

        batch = pad_with(self.tokenizer, {"input_ids": ids})
        if self.session is not None:
            feed = {k: v for k, v in batch.items() if k in self.input_names}
            if "token_type_ids" in self.input_names:
                feed["token_type_ids"] = np.zeros_like(batch["input_ids"])
            return self.session.run(["vectors"], feed)[0]
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            out = self.model.segment_encoder(torch.from_numpy(batch["input_ids"]).to(device),
                                             torch.from_numpy(batch["attention_mask"]).to(device))
        return out.float().cpu().numpy()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Segment vectors [N, H]: tokenized once, sorted by length, padded per batch;
        a repeated text (a site's menu line) is encoded once (a segment's vector does
        not depend on its neighbours)."""
        first: dict[str, int] = {}
        inverse = np.array([first.setdefault(t, len(first)) for t in texts])
        unique = list(first)
        ids = tokenize_segments(self.tokenizer, unique, self.config.max_segment_tokens, self.config.head_tokens)
        order = np.argsort([len(x) for x in ids], kind="stable")
        starts = range(0, len(order), batch_size)

        def forward(start):
            idx = order[start:start + batch_size]
            return idx, self._encode_batch([ids[i] for i in idx])

        from claimsort.modeling.onnx import map_in_threads

        out = None
        for idx, vectors in map_in_threads(forward, starts, self.workers):
            if out is None:
                out = np.zeros((len(unique), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        return out[inverse]

    # -- the labels ----------------------------------------------------------
    def predict_proba(self, documents: list[list[dict]], batch_size: int = 32) -> np.ndarray:
        total = sum(len(d) for d in documents)
        if total == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        vectors = self.encode([row["text"] for doc in documents for row in doc], batch_size)
        lexical = lexical_inputs(self.lexical.predict_proba(documents)) if self.lexical is not None else None
        device = next(self.model.parameters()).device
        out = np.zeros((total, len(LABELS)), dtype=np.float32)
        # Windows of all documents, run through the GRU a few dozen at a time.
        items = []  # (row offset of the document, its window span, owner mask)
        offset = 0
        for doc in documents:
            n = len(doc)
            spans = windows(n, self.config.window, self.config.stride)
            owner = owners(n, spans)
            positions = position_features(n)
            for w, (start, end) in enumerate(spans):
                items.append((offset, start, end, owner[start:end] == w, positions[start:end]))
            offset += n
        for b in range(0, len(items), 64):
            chunk = items[b:b + 64]
            grid = window_grid([vectors[off + start:off + end] for off, start, end, _, _ in chunk]).to(device)
            pos = window_grid([p for _, _, _, _, p in chunk]).to(device)
            lex = None if lexical is None else window_grid([lexical[off + start:off + end]
                                                             for off, start, end, _, _ in chunk]).to(device)
            lengths = torch.tensor([end - start for _, start, end, _, _ in chunk])
            with torch.inference_mode():
                logits = self.model.head(grid, pos, lengths, lex).float().cpu().numpy()
            logits -= logits.max(-1, keepdims=True)
            proba = np.exp(logits)
            proba /= proba.sum(-1, keepdims=True)
            for k, (off, start, end, own, _) in enumerate(chunk):
                rows = off + start + np.flatnonzero(own)
                out[rows] = proba[k, :end - start][own]
        return out
