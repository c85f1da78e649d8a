"""The registered ``claimsort-document`` pipeline: a whole article in, its segments out.

    import claimsort
    from transformers import pipeline

    classify = pipeline("claimsort-document", model="models/default")
    classify(open("article.md").read(), format="markdown")
    # [{"sent_id": 0, "text": ..., "label": ..., "score": ..., "probabilities": {...}}, ...]

It segments the article as predict.py does (format "text", "markdown", "html" or
"auto": HTML when the input has HTML tags, Markdown when it has Markdown headings
or links, else plain text) and labels the segments with the same document
classifier (claimsort.modeling.document.DocumentClassifier), the page-structure model
included for HTML when the model folder has one. No remote code: importing
claimsort registers the model type and this pipeline.
"""
from __future__ import annotations

import re
from pathlib import Path

from transformers import Pipeline

from claimsort.labels import LABELS

TASK = "claimsort-document"
_HTML = re.compile(r"<\s*(html|body|head|div|p|article|span|h[1-6]|a|br|section|main)\b[^>]*>", re.I)
_MARKDOWN = re.compile(r"^\s{0,3}#{1,6}\s|\[[^\]]+\]\([^)]*\)|^\s*[-*+]\s+\S", re.M)


def detect_format(text: str) -> str:
    """'html', 'markdown' or 'text', by the article's look."""
    if _HTML.search(text):
        return "html"
    if _MARKDOWN.search(text):
        return "markdown"
    return "text"


class DocumentClassificationPipeline(Pipeline):
    """Article (str) -> list of its segments with label, score and every label's probability."""

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from claimsort.modeling.document import DocumentClassifier
        from claimsort.html.pagestructure import PageStructureModel

        folder = Path(getattr(self.model, "name_or_path", "") or "")
        self.classifier = DocumentClassifier(self.model, self.tokenizer, folder=folder if folder.is_dir() else None)
        self.classifier.page_structure = PageStructureModel.load(folder) if folder.is_dir() else None

    def _sanitize_parameters(self, format: str | None = None, batch_size: int | None = None, **kwargs):
        preprocess = {"format": format} if format else {}
        forward = {"batch_size": batch_size} if batch_size else {}
        return preprocess, forward, {}

    def preprocess(self, article: str, format: str = "auto"):
        from claimsort.io.documents import document_from_text

        if not isinstance(article, str):
            raise TypeError(f"{TASK}: expected the article as a string, got {type(article).__name__}")
        fmt = detect_format(article) if format == "auto" else format
        if fmt not in ("text", "markdown", "html"):
            raise ValueError(f"{TASK}: format {format!r} is not one of auto, text, markdown, html")
        return {"document": document_from_text(article, fmt)}

    def _forward(self, model_inputs, batch_size: int = 32):
        from claimsort.modeling.classify import classify_documents

        doc = model_inputs["document"]
        return {"document": doc, "proba": classify_documents(self.classifier, [doc], batch_size)}

    def postprocess(self, model_outputs):
        out = []
        for seg, p in zip(model_outputs["document"].segments, model_outputs["proba"]):
            best = int(p.argmax())
            out.append({"sent_id": seg["sent_id"], "text": seg["text"], "label": LABELS[best], "score": float(p[best]),
                        "probabilities": {label: float(v) for label, v in zip(LABELS, p)}})
        return out


def register() -> None:
    from transformers import AutoModel
    from transformers.pipelines import PIPELINE_REGISTRY

    if TASK not in PIPELINE_REGISTRY.get_supported_tasks():
        PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=DocumentClassificationPipeline, pt_model=AutoModel)
