"""Encoders compared on frozen segment vectors, sentence-only and in a document model.

Fine-tuning a 12-layer encoder end to end is past a 2-core CPU's budget, so this
compares what each encoder brings when it is not trained: every segment of the
corpus is encoded once by the pretrained encoder (mean of its token vectors, the
default's 96 tokens with head and tail), then
  - sentence-only: a logistic regression on each segment's vector;
  - document: the default's head (a BiGRU over the article's segment vectors with
    their positions, windows of 32 every 24, merged) trained on the frozen vectors;
both trained on the train split, the document head's epoch chosen on dev, and
measured on the test split (PTC test and the whole test split). Times: encoding
(all segments), and each head's training.

    python bench/encoder_comparison.py --encoder all-MiniLM-L6-v2 --encoder /path/to/all-mpnet-base-v2

An encoder is anything claimsort's base_model takes (the packaged MiniLM, a folder,
a hub id). Vectors are cached in --cache (one .npy per encoder and corpus
fingerprint), so a rerun only trains the heads.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, macro_f1, markdown_table, write_result  # noqa: E402

from claimsort.config import load_config  # noqa: E402
from claimsort.corpus import build_corpus, fingerprint, group_documents  # noqa: E402
from claimsort.labels import LABELS  # noqa: E402
from claimsort.modeling.base_models import resolve_base_model  # noqa: E402
from claimsort.modeling.document import MODEL_TYPE, owners, position_features, tokenize_segments, windows  # noqa: E402


def encode_all(encoder: str, texts: list[str], max_length: int, head_tokens: int, batch_size: int) -> np.ndarray:
    """Mean-pooled vectors of the pretrained encoder, longest segments batched together."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_base_model(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ids = tokenize_segments(tokenizer, texts, max_length, head_tokens)
    order = np.argsort([len(x) for x in ids])
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch = tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt")
            hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out[chunk] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()
    return out


HEADS = {
    "gru": "BiGRU, 1 layer (the default's head)",
    "gru2": "BiGRU, 2 layers",
    "transformer": "transformer, 2 layers, 4 heads",
    "gru-crf": "BiGRU + CRF (label transitions)",
    "own": "the model folder's own head, trained further",
}


class SequenceHead(nn.Module):
    """A sequence layer over a window's segment vectors and position features, then
    a linear layer over its states and the segment's own vector (the default's
    layout), optionally with a CRF over the labels of a window."""

    def __init__(self, dim: int, kind: str, hidden: int = 256, dropout: float = 0.1, max_window: int = 64):
        super().__init__()
        n_pos = position_features(2).shape[1]
        self.kind = kind
        self.dropout = nn.Dropout(dropout)
        if kind == "transformer":
            self.project = nn.Linear(dim + n_pos, hidden)
            self.slot = nn.Embedding(max_window, hidden)  # place within the window
            layer = nn.TransformerEncoderLayer(hidden, 4, 4 * hidden, dropout, batch_first=True)
            self.sequence = nn.TransformerEncoder(layer, 2)
            width = hidden
        else:
            layers = 2 if kind == "gru2" else 1
            self.sequence = nn.GRU(dim + n_pos, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                                   dropout=dropout if layers > 1 else 0.0)
            width = 2 * hidden
        self.classifier = nn.Linear(width + dim, len(LABELS))
        if kind == "gru-crf":
            from torchcrf import CRF

            self.crf = CRF(len(LABELS), batch_first=True)

    def emissions(self, vectors, positions, mask):
        vectors = self.dropout(vectors)
        x = torch.cat([vectors, positions], -1)
        if self.kind == "transformer":
            slots = torch.arange(x.shape[1], device=x.device)
            states = self.sequence(self.project(x) + self.slot(slots), src_key_padding_mask=~mask)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, mask.sum(1).cpu(), batch_first=True, enforce_sorted=False)
            states, _ = self.sequence(packed)
            states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])
        return self.classifier(self.dropout(torch.cat([states, vectors], -1)))

    def loss(self, vectors, positions, mask, target, weight):
        logits = self.emissions(vectors, positions, mask)
        if self.kind == "gru-crf":
            return -self.crf(logits, target.clamp(min=0), mask=mask, reduction="mean") / mask.sum(1).float().mean()
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                           weight=weight, ignore_index=-100)

    def decode(self, vectors, positions, mask) -> np.ndarray:
        logits = self.emissions(vectors, positions, mask)
        if self.kind == "gru-crf":
            out = np.zeros(mask.shape, dtype=np.int64)
            for k, path in enumerate(self.crf.decode(logits, mask=mask)):
                out[k, :len(path)] = path
            return out
        return logits.argmax(-1).numpy()


def own_head(folder: str, dim: int) -> SequenceHead:
    """A SequenceHead holding the GRU and labelling layer of a document-model folder."""
    from claimsort.modeling.document import DocumentClassifierModel

    model = DocumentClassifierModel.from_pretrained(folder)
    head = SequenceHead(dim, "gru", hidden=model.config.sequence_hidden)
    head.sequence.load_state_dict(model.sequence.state_dict())
    head.classifier.load_state_dict(model.classifier.state_dict())
    return head


def batches(vectors, docs, spans, y=None):
    """Padded tensors of a list of (doc, start, end) windows."""
    length = max(e - s for _, s, e in spans)
    vec = torch.zeros(len(spans), length, vectors.shape[1])
    pos = torch.zeros(len(spans), length, position_features(1).shape[1])
    mask = torch.zeros(len(spans), length, dtype=torch.bool)
    target = torch.full((len(spans), length), -100, dtype=torch.long)
    for j, (d, s, e) in enumerate(spans):
        idx = docs[d][s:e]
        vec[j, :e - s] = torch.from_numpy(vectors[idx])
        pos[j, :e - s] = torch.from_numpy(position_features(len(docs[d]))[s:e])
        mask[j, :e - s] = True
        if y is not None:
            target[j, :e - s] = torch.from_numpy(y[idx])
    return vec, pos, mask, target


def predict_documents(head, vectors, docs, window, stride) -> np.ndarray:
    """Each segment's label from the window where it lies farthest from an edge."""
    pred = np.zeros(len(vectors), dtype=np.int64)
    head.eval()
    with torch.inference_mode():
        for d, idx in enumerate(docs):
            spans = windows(len(idx), window, stride)
            vec, pos, mask, _ = batches(vectors, docs, [(d, s, e) for s, e in spans])
            labels = head.decode(vec, pos, mask)
            for i, w in enumerate(owners(len(idx), spans)):
                pred[idx[i]] = labels[w][i - spans[w][0]]
    return pred


def train_head(head, vectors, y, split_docs, epochs, window, stride, seed, class_weight, lr):
    """Train on every window of the train documents; keep the epoch best on dev."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    weight = torch.tensor(class_weight, dtype=torch.float32)
    train = split_docs["train"]
    spans = [(d, s, e) for d, idx in enumerate(train) for s, e in windows(len(idx), window, stride)]
    dev_idx = np.concatenate(split_docs["dev"])
    best = (-1.0, None, 0)
    for epoch in range(1, epochs + 1):
        head.train()
        perm = rng.permutation(len(spans))
        for b in range(0, len(perm), 8):
            vec, pos, mask, target = batches(vectors, train, [spans[i] for i in perm[b:b + 8]], y)
            loss = head.loss(vec, pos, mask, target, weight)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimiser.step()
        dev_pred = predict_documents(head, vectors, split_docs["dev"], window, stride)
        f1 = macro_f1([LABELS[i] for i in y[dev_idx]], [LABELS[i] for i in dev_pred[dev_idx]])
        print(f"  {head.kind} epoch {epoch}: dev macro-F1 {f1:.3f}", flush=True)
        if f1 > best[0]:
            best = (f1, {k: v.clone() for k, v in head.state_dict().items()}, epoch)
    head.load_state_dict(best[1])
    return best[0], best[2]


def segment_vectors(encoder: str, texts: list[str], max_length: int, head_tokens: int) -> np.ndarray:
    """A document-model folder encodes with its own (trained) encoder; anything else
    is a pretrained encoder, mean-pooled."""
    folder = Path(encoder)
    if (folder / "config.json").is_file() and json.loads((folder / "config.json").read_text()).get(
            "model_type") == MODEL_TYPE:
        from claimsort.modeling.document import DocumentClassifier

        return DocumentClassifier.load(folder, backend="onnx").encode(texts, batch_size=64)
    return encode_all(encoder, texts, max_length, head_tokens, batch_size=64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", action="append", required=True,
                        help="an encoder: all-MiniLM-L6-v2, a folder or a hub id (pretrained, mean-pooled), or a "
                             "document-model folder (its trained encoder); repeat to compare")
    parser.add_argument("--head", action="append", choices=sorted(HEADS),
                        help="the document heads to train on the vectors (default: gru); 'own' needs a model folder")
    parser.add_argument("--no-sentence", action="store_true", help="skip the sentence-only logistic regression")
    parser.add_argument("--config", default=str(ROOT / "configs/default.yaml"), help="the data and model config")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value (as train.py takes them)")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench/.cache/encoder-vectors")
    parser.add_argument("--epochs", type=int, default=12, help="head training epochs (the best on dev is kept)")
    parser.add_argument("--result", default="encoder_comparison", help="name of the bench/results file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    heads = args.head or ["gru"]
    torch.set_num_threads(args.threads)

    cfg = load_config(args.config, args.overrides)
    m = cfg.model
    rows = build_corpus(cfg.data.corpus_paths(), announce=print)
    texts = [r["text"] for r in rows]
    y = np.array([LABELS.index(r["label"]) for r in rows])
    split = np.array([r["split"] for r in rows])
    source = np.array([r.get("source", "") for r in rows])
    docs = group_documents([dict(r, _i=i) for i, r in enumerate(rows)])
    split_docs = {s: [np.array([r["_i"] for r in doc]) for doc in docs if doc[0]["split"] == s]
                  for s in ("train", "dev", "test")}
    counts = np.bincount(y[split == "train"], minlength=len(LABELS)).astype(float)
    class_weight = np.sqrt(counts.sum() / np.maximum(counts, 1) / len(LABELS))  # sqrt_inverse, as the default
    corpus_key = fingerprint(rows)[:12]
    test_sets = {"PTC test": (split == "test") & (source == "ptc"), "whole test": split == "test"}

    def f1(pred, mask):
        if not mask.any():
            return float("nan")
        return macro_f1([LABELS[i] for i in y[mask]], [LABELS[i] for i in pred[mask]])

    header = ["encoder", "dim", "encode s (all segments)", "model over frozen vectors", "training s",
              "dev macro-F1", *[f"{k} macro-F1" for k in test_sets]]
    results = []
    for encoder in args.encoder:
        name = Path(encoder).name
        where = encoder if Path(encoder).is_dir() else resolve_base_model(encoder)
        key = hashlib.sha256(f"{Path(where).resolve()}|{m.max_length}|{m.head_tokens}".encode()).hexdigest()[:10]
        cache = args.cache / f"{name}-{key}-{corpus_key}.npy"
        if cache.is_file():
            vectors = np.load(cache)
            encode_s = float(np.load(cache.with_suffix(".seconds.npy")))
        else:
            print(f"{name}: encoding {len(texts)} segments ...", flush=True)
            start = time.perf_counter()
            vectors = segment_vectors(encoder, texts, m.max_length, m.head_tokens)
            encode_s = time.perf_counter() - start
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
            np.save(cache.with_suffix(".seconds.npy"), np.array(encode_s))
        print(f"{name}: {vectors.shape[1]}-d vectors, encoded in {encode_s:.0f} s", flush=True)
        lead = [name, f"{vectors.shape[1]}", f"{encode_s:.0f}"]

        if not args.no_sentence:
            from sklearn.linear_model import LogisticRegression
            from sklearn.preprocessing import StandardScaler

            start = time.perf_counter()
            scaler = StandardScaler().fit(vectors[split == "train"])
            lr = LogisticRegression(max_iter=1000, class_weight=dict(enumerate(class_weight)))
            lr.fit(scaler.transform(vectors[split == "train"]), y[split == "train"])
            sent_pred = lr.predict(scaler.transform(vectors))
            results.append(lead + ["sentence-only (logistic regression)", f"{time.perf_counter() - start:.0f}",
                                   f"{f1(sent_pred, split == 'dev'):.3f}"]
                           + [f"{f1(sent_pred, mask):.3f}" for mask in test_sets.values()])
            print(markdown_table(header, results[-1:]), flush=True)

        is_model_folder = (Path(encoder) / "config.json").is_file() and json.loads(
            (Path(encoder) / "config.json").read_text()).get("model_type") == MODEL_TYPE
        for kind in heads:
            if kind == "own" and not is_model_folder:
                continue  # only a document-model folder has a head of its own
            if kind == "own":
                head, lr_ = own_head(encoder, vectors.shape[1]), 3e-4
            else:
                head, lr_ = SequenceHead(vectors.shape[1], kind, hidden=m.sequence_hidden), 1e-3
            start = time.perf_counter()
            dev_f1, epoch = train_head(head, vectors, y, split_docs, args.epochs, m.window, m.stride,
                                       args.seed, class_weight, lr_)
            seconds = time.perf_counter() - start
            pred = predict_documents(head, vectors, split_docs["dev"] + split_docs["test"], m.window, m.stride)
            results.append(lead + [f"document: {HEADS[kind]} (best epoch {epoch})", f"{seconds:.0f}",
                                   f"{dev_f1:.3f}"] + [f"{f1(pred, mask):.3f}" for mask in test_sets.values()])
            print(markdown_table(header, results[-1:]), flush=True)

    n = {s: int((split == s).sum()) for s in ("train", "dev", "test")}
    write_result(
        args.result, "Encoders and document heads on frozen segment vectors" if len(args.encoder) > 1
        else f"Document heads on the frozen segment vectors of {Path(args.encoder[0]).name}", markdown_table(header, results),
        notes=[f"{len(rows):,} segments ({n['train']:,} train, {n['dev']:,} dev, {n['test']:,} test), text only "
               f"(no page-structure features). A pretrained encoder is frozen and mean-pooled, {m.max_length} "
               f"tokens (head {m.head_tokens} + tail); a model folder encodes with its own trained encoder. Each "
               f"head is trained on every window ({m.window} every {m.stride}) of the train documents for up to "
               f"{args.epochs} epochs (the best dev epoch is kept), class weights sqrt_inverse; training time is "
               "the head's (or the logistic regression's) only; encoding time is for all segments of all splits."],
        torch_threads=args.threads,
        reproduce="python bench/encoder_comparison.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
