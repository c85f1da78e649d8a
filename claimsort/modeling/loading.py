"""A model folder, whichever family it holds, checked and loaded: the document
model (claimsort.modeling.document), the sentence-only baseline
(claimsort.modeling.sentence) or the TF-IDF baseline (claimsort.modeling.tfidf),
with, for HTML input, its page-structure model."""
from __future__ import annotations

from pathlib import Path

from claimsort.io.arrays import DAMAGED
from claimsort.io.errors import InputError
from claimsort.io.files import read_json_object
from claimsort.modeling.sentence import TransformerClassifier
from claimsort.modeling.tfidf import LEGACY_TFIDF_FILE, TFIDF_FILE, TfidfClassifier

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt")


def legacy_pickle_error(path: Path, how: str):
    """The InputError for a pickle a model folder still holds from an older claimsort:
    it is never loaded (unpickling a downloaded file runs whatever code it carries)."""
    return InputError(f"{path}: a pickle from an older claimsort, which is no longer loaded (unpickling runs whatever "
                     f"code the file carries); convert the folder: {how}")


# Files that hold a tokenizer's vocabulary; tokenizer_config.json alone builds a
# tokenizer of five special tokens, for which every word is unknown.
TOKENIZER_VOCABULARIES = ("tokenizer.json", "vocab.txt", "vocab.json", "spm.model", "tokenizer.model",
                          "sentencepiece.bpe.model")


def check_model_folder(folder: Path) -> dict:
    """Validate a Hugging Face model folder before anything is loaded from it and
    return its config.json: the config parses, the weights are there and readable
    in full (a truncated safetensors file is caught by its header, which gives every
    tensor's extent), and a tokenizer with a vocabulary is present. Without these
    checks transformers either fails deep inside with a traceback or, worse, loads
    a tokenizer of special tokens only and every word of the input becomes unknown."""
    config = read_json_object(folder / "config.json", DAMAGED)
    index = folder / "model.safetensors.index.json"
    weights = sorted(set(read_json_object(index, DAMAGED).get("weight_map", {}).values())) if index.is_file()         else ["model.safetensors"]
    for name in weights:
        path = folder / name
        if not path.is_file():
            extra = " (it holds pytorch_model.bin, a pickle, which claimsort does not load)"                 if (folder / "pytorch_model.bin").is_file() else ""
            raise InputError(f"{path}: missing{extra}; {DAMAGED}")
        try:
            from safetensors import safe_open

            with safe_open(str(path), "np"):
                pass
        except Exception as e:  # SafetensorError, or OSError for an unreadable file
            raise InputError(f"{path}: unreadable ({str(e).splitlines()[0][:200]}); {DAMAGED}") from None
    if not (folder / "tokenizer_config.json").is_file():
        raise InputError(f"{folder / 'tokenizer_config.json'}: missing (no tokenizer); {DAMAGED}")
    if not any((folder / name).is_file() for name in TOKENIZER_VOCABULARIES):
        raise InputError(f"{folder / 'tokenizer.json'}: missing (the tokenizer has no vocabulary, so every word "
                        f"would be unknown); {DAMAGED}")
    return config


def check_tokenizer(folder: Path, tokenizer, config: dict) -> None:
    """The loaded tokenizer matches the model's vocabulary: its ids fit the embedding
    matrix, and it is not a much smaller vocabulary (another model's, or a stub)."""
    vocab_size = config.get("vocab_size") or (config.get("encoder") or {}).get("vocab_size")
    n = len(tokenizer)
    if vocab_size and (n > vocab_size or n < vocab_size // 2):
        raise InputError(f"{folder}: the tokenizer has {n:,} tokens, the model's vocabulary {vocab_size:,}: "
                        f"they do not belong together; {DAMAGED}")


def load_classifier(folder: str | Path, fast: str = "none", device: str | None = None, backend: str = "torch"):
    """The classifier saved in `folder`, whichever family it is. fast and backend
    concern transformer models only (see TransformerClassifier.load); backend "auto"
    is ONNX Runtime on the CPU and torch on a GPU."""
    from claimsort.modeling.document import MODEL_TYPE, DocumentClassifier
    from claimsort.html.pagestructure import PageStructureModel

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such model folder")
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
        raise InputError(f"{folder}: not a claimsort model folder (no config.json or {TFIDF_FILE})")
    if config is not None:
        check_tokenizer(folder, classifier.tokenizer, config)
    classifier.page_structure = page_structure
    return classifier
