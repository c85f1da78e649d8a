"""The TF-IDF + logistic regression baseline (scikit-learn), stored without pickle:
tfidf.json (vectorizers: parameters and vocabulary) and tfidf.npz (arrays)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from claimsort.io.arrays import DAMAGED, load_arrays, save_arrays
from claimsort.io.files import read_json_object
from claimsort.io.errors import InputError
from claimsort.labels import ID2LABEL, LABEL2ID, LABELS
from claimsort.modeling.sentence import CLAIMSORT_META


class TfidfClassifier:
    """TF-IDF features of the segment text + multinomial logistic regression.

    With `context_words`, each segment's text is followed by the words of the segments
    before and after it in its article, marked as theirs ("p_said", "n_minister"), so
    that the n-grams see who spoke just before and whether the passage goes on (see
    context_texts)."""

    def __init__(self, pipeline, context_words: bool = False):
        self.pipeline = pipeline
        self.context_words = context_words

    @classmethod
    def create(cls, ngram_max: int = 2, char_ngrams: bool = True, C: float = 4.0, seed: int = 42,
               class_weight: str | None = "balanced", context_words: bool = False) -> "TfidfClassifier":
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
        return cls(pipeline, context_words=context_words)

    def _texts(self, documents: list[list[dict]]) -> list[str]:
        if self.context_words:
            return context_texts(documents)
        return [row["text"] for doc in documents for row in doc]

    def fit(self, rows: list[dict]) -> "TfidfClassifier":
        """Fit on segment rows; a document's rows are consecutive (its neighbours are
        the rows before and after it with the same doc_id)."""
        from claimsort.corpus import group_documents

        # without context_words the rows need no doc_id: they are read as one list
        documents = group_documents(rows) if self.context_words else [rows]
        self.pipeline.fit(self._texts(documents), [LABEL2ID[r["label"]] for r in rows])
        return self

    def predict_proba(self, documents: list[list[dict]], batch_size: int = 0) -> np.ndarray:
        texts = self._texts(documents)
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
        spec = {"format": SAFE_FORMAT, "context_words": self.context_words, "vectorizers": []}
        arrays = logistic_regression_arrays(classifier)
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
        spec = read_json_object(folder / TFIDF_FILE, DAMAGED)
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
            context_words = spec.get("context_words", False)  # absent in folders saved before the option
            if not isinstance(context_words, bool):
                raise TypeError(f"context_words is {context_words!r}, not true or false")
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{folder / TFIDF_FILE}: not a TF-IDF model claimsort can read ({type(e).__name__}: "
                            f"{e}); {DAMAGED}") from None
        return cls(pipeline, context_words=context_words)


_WORD = re.compile(r"\b\w\w+\b")  # the vectorizers' default token pattern


def context_texts(documents: list[list[dict]]) -> list[str]:
    """Each segment's text, then the lower-cased words of the segment before it
    prefixed "p_" and of the one after it prefixed "n_" (none at an article's edge):
    one string per segment, in document order, for an unchanged TfidfVectorizer."""
    out = []
    for doc in documents:
        words = [_WORD.findall(row["text"].lower()) for row in doc]
        for k, row in enumerate(doc):
            parts = [row["text"]]
            if k > 0:
                parts += ["p_" + w for w in words[k - 1]]
            if k + 1 < len(doc):
                parts += ["n_" + w for w in words[k + 1]]
            out.append(" ".join(parts))
    return out


# --------------------------------------------------------------------------- #
# Safe storage of the scikit-learn models (no pickle)
# --------------------------------------------------------------------------- #
SAFE_FORMAT = 1


TFIDF_FILE, TFIDF_ARRAYS = "tfidf.json", "tfidf.npz"


LEGACY_TFIDF_FILE = "model.joblib"  # a pickle: written by claimsort before the safe format, never loaded


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


