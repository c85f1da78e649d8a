"""Classifying whole documents: the classifier's label probabilities for every
segment, with, on HTML pages, the boilerplate probability taken from the page's
markup when the model folder has a page-structure model: what predict.py, the Ray
engine, the pipeline and the benchmarks serve."""
from __future__ import annotations


import numpy as np

from claimsort.labels import LABELS
from claimsort.html.pagestructure import combine
from claimsort.io.documents import Document


def classify_documents(classifier, docs: list[Document], batch_size: int = 32) -> np.ndarray:
    """Label probabilities of every segment of `docs`, in order: the classifier's,
    with, for HTML pages when the model folder has a page-structure model, the
    boilerplate probability taken from the page's markup (pagestructure.combine).
    What predict.py writes and what the claimsort-document pipeline returns."""
    if not docs:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    proba = classifier.predict_proba([d.segments for d in docs], batch_size=batch_size)
    page_structure = getattr(classifier, "page_structure", None)
    k = 0
    for doc in docs:
        n = len(doc.segments)
        if page_structure is not None and doc.page_features is not None:  # HTML: boilerplate from markup
            proba[k:k + n] = combine(proba[k:k + n], page_structure.p_article(doc.page_features),
                                     LABELS.index("boilerplate"))
        k += n
    return proba
