"""Page structure: which segments of an HTML page are its article, judged from the page's markup.

A sentence classifier sees text only, and on a web page much of the boilerplate is
good prose: reader comments, teasers of other stories, captions of related links.
The markup tells them apart: they sit in link-dense blocks, in <aside>, <li> and
<nav>, in containers named "comment" or "related". This module

1. rebuilds the page's visible text exactly as ``html_to_text`` does (html-text's
   algorithm) while recording which element each character came from;
2. describes each segment by the elements it came from: enclosing tags, words in
   their class and id attributes, depth, and the text mass and link density of the
   five enclosing blocks; by its text: word count, final punctuation, position; by
   trafilatura's reading of the page: the share of the segment's word trigrams found
   in the main text trafilatura extracts (a well-kept extractor's judgement, one
   signal among the others; see ``main_text``); plus the means of all of these over
   its neighbours (2 and 8 each side);
3. scores each segment with a logistic regression trained on the training-split
   web pages, whose labels come from the ground-truth article body (no annotation);
4. smooths the scores along the page with a two-state hidden Markov model (article /
   boilerplate, switching costs ``SWITCH_COST`` nats): the article is a run of
   segments, not a scatter.

The result, P(article) per segment, replaces the sentence model's boilerplate
probability on HTML pages (see ``combine``): the sentence model then decides among
the three other labels, and keeps a veto where it is sure a segment is boilerplate
(a byline or dateline inside the article's markup). Measured in BENCHMARKS.md
(boilerplate removal, with the trafilatura feature and without it).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from claimsort.text.segmentation import Segment, html_newline_tags, segment_text

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs every page where it finds no main text

PAGE_STRUCTURE_FILE = "page_structure.npz"  # arrays only: loaded without pickle
LEGACY_PAGE_STRUCTURE_FILE = "page_structure.joblib"  # a pickle, from older claimsort: never loaded
SWITCH_COST = 2.0  # nats; a cost of 2 means a switch is e^2 ~ 7x less likely than staying
SENTENCE_VETO = 0.9  # the sentence model's own boilerplate call stands when it is this sure (see combine)
NEIGHBOURHOODS = (2, 8)

_TAGS = ("a", "nav", "header", "footer", "aside", "form", "li", "h1", "h2", "h3", "h4", "p", "blockquote",
         "figure", "figcaption", "table", "button", "label", "time", "article", "main", "section", "span",
         "strong", "em", "ul", "div")
_ATTRIBUTE_WORDS = ("comment", "related", "share", "social", "footer", "header", "nav", "menu", "sidebar",
                    "widget", "promo", "newsletter", "subscri", "ad", "advert", "caption", "byline", "author",
                    "tag", "breadcrumb", "article", "content", "story", "body", "post", "entry", "main", "text",
                    "title", "headline", "date", "meta", "recommend", "popular", "trending", "more", "list",
                    "card", "teaser", "link", "btn", "button", "login", "cookie", "modal", "footnote", "copyright")
_BLOCK_LEVELS = 5
_N_NODE = len(_TAGS) + len(_ATTRIBUTE_WORDS) + 1 + 2 * _BLOCK_LEVELS
_N_TEXT = 5  # _text_features
_N_MAIN_TEXT = 2  # _main_text_features
_N_ROW = _N_NODE + _N_TEXT + _N_MAIN_TEXT + 1  # + position
N_FEATURES = _N_ROW * (1 + len(NEIGHBOURHOODS))  # the segment's own row, then its neighbourhood means
# where the trafilatura features sit (zeroed, they give the markup-only model of bench/page_structure_cv.py)
MAIN_TEXT_COLUMNS = [block * _N_ROW + _N_NODE + _N_TEXT + j for block in range(1 + len(NEIGHBOURHOODS))
                     for j in range(_N_MAIN_TEXT)]
_ATTRIBUTE_TOKEN = re.compile(r"[a-z]+")
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- #
# 1. Visible text with the element of every character
# --------------------------------------------------------------------------- #
def text_with_elements(html: str) -> tuple[str, list[tuple[int, int, object]]]:
    """The page's visible text (identical to ``segmentation.html_to_text``) and
    spans (start, end, element) saying which element each stretch of it came from.

    This is html-text's ``etree_to_text`` loop, kept step for step (a test checks
    the text is identical), with the owner of each text piece recorded.
    """
    from html_text.html_text import (_cleaned_html_tree, _has_open_bracket_before, _has_punct_after,
                                     _has_trailing_whitespace, _normalize_whitespace)
    import lxml.etree

    newline_tags, double_newline_tags = html_newline_tags()
    tree = _cleaned_html_tree(html)
    chunks: list[str] = []
    owners: list[object] = []
    newline, double_newline = object(), object()
    prev: object = double_newline

    def add_newlines(tag: str) -> None:
        nonlocal prev
        if prev is double_newline:
            return
        if tag in double_newline_tags:
            chunks.append("\n" if prev is newline else "\n\n")
            owners.append(None)
            prev = double_newline
        elif tag in newline_tags:
            if prev is not newline:
                chunks.append("\n")
                owners.append(None)
            prev = newline

    def add_text(raw: str | None, owner) -> None:
        nonlocal prev
        text = _normalize_whitespace(raw) if raw else ""
        if not text:
            return
        if prev is newline or prev is double_newline:
            space = ""
        else:
            space = " " if (_has_trailing_whitespace(prev) or (not _has_punct_after(text)
                                                               and not _has_open_bracket_before(prev))) else ""
        chunks.extend([space, text])
        owners.extend([None, owner])
        prev = raw

    for event, el in lxml.etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            add_newlines(el.tag)
            add_text(el.text, el)
        else:
            add_newlines(el.tag)
            if el is not tree:
                add_text(el.tail, el.getparent())
    full = "".join(chunks)
    lead = len(full) - len(full.lstrip())  # html-text strips the result
    spans, pos = [], -lead
    for chunk, owner in zip(chunks, owners):
        if owner is not None and chunk:
            spans.append((pos, pos + len(chunk), owner))
        pos += len(chunk)
    return full.strip(), spans


# --------------------------------------------------------------------------- #
# 2. Features
# --------------------------------------------------------------------------- #
# The caches below are keyed by the lxml element itself, never by id(): lxml makes a
# new Python proxy for a node each time one is asked for and frees it when unused, so
# the id of a freed proxy (a parent reached by getparent()) is soon another node's.
# Holding the element as a key keeps its proxy alive, and lxml returns a live proxy
# for its node every time.
def _block_stats(node, cache: dict) -> tuple[int, int]:
    key = ("block", node)
    if key not in cache:
        chars = len(" ".join(node.text_content().split()))
        links = chars if node.tag == "a" else sum(len(" ".join(a.text_content().split())) for a in node.iter("a"))
        cache[key] = (chars, min(links, chars))
    return cache[key]


def _element_features(el, cache: dict) -> np.ndarray:
    key = ("element", el)
    if key in cache:
        return cache[key]
    tags, words, depth, node = set(), set(), 0, el
    while node is not None:
        if isinstance(node.tag, str):
            tags.add(node.tag)
            for attr in ("class", "id"):
                for token in _ATTRIBUTE_TOKEN.findall((node.get(attr) or "").lower()):
                    words.update(w for w in _ATTRIBUTE_WORDS if w == token or (len(w) > 3 and w in token))
        depth += 1
        node = node.getparent()
    f = [float(t in tags) for t in _TAGS] + [float(w in words) for w in _ATTRIBUTE_WORDS] + [min(depth, 40) / 40]
    node = el
    for _ in range(_BLOCK_LEVELS):  # text mass and link density of the enclosing blocks
        if node is None:
            f += [0.0, 0.0]
            continue
        chars, links = _block_stats(node, cache)
        f += [np.log1p(chars) / 10, links / max(1, chars)]
        node = node.getparent()
    cache[key] = out = np.array(f)
    return out


def _text_features(text: str) -> list[float]:
    words = _WORD.findall(text)
    end = text.rstrip()[-1:]
    return [np.log1p(len(words)) / 5, float(end in ".!?\"”'"), float(end in ".!?"),
            sum(w[:1].isupper() for w in words) / max(1, len(words)), float(len(words) < 4)]


def main_text(html: str) -> str:
    """The page's main text as trafilatura extracts it (default settings); "" when
    it finds none or cannot parse the page (the feature then says so; the markup
    features still decide)."""
    import trafilatura

    try:
        return trafilatura.extract(html) or ""
    except Exception:  # trafilatura/lxml raise several types on odd pages; an unreadable page has no main text
        return ""


def _main_text_features(segments: list[Segment], extracted: str) -> np.ndarray:
    """Per segment: the share of its word trigrams that occur in `extracted` (a
    segment of one or two words: whether it occurs there as a word sequence), and
    whether the extractor found any main text at all."""
    from claimsort.text.overlap import TextIndex, words

    index = TextIndex(extracted)
    shares = []
    for seg in segments:
        w = words(seg.text)
        shares.append(index.trigram_share(w) if len(w) >= 3 else float(index.contains_phrase(w)))
    return np.column_stack([shares, np.full(len(segments), float(not index.empty))])


def _neighbourhood_means(x: np.ndarray, k: int) -> np.ndarray:
    n = len(x)
    cumulative = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    lo, hi = np.clip(np.arange(n) - k, 0, n), np.clip(np.arange(n) + k + 1, 0, n)
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]


def segment_features(spans: list[tuple[int, int, object]], segments: list[Segment], extracted: str) -> np.ndarray:
    """One feature row per segment (see the module docstring); `extracted` is the
    page's ``main_text``."""
    cache: dict = {}
    rows, j = [], 0
    for seg in segments:
        acc, total = np.zeros(_N_NODE), 0
        while j < len(spans) and spans[j][1] <= seg.start:
            j += 1
        k = j
        while k < len(spans) and spans[k][0] < seg.end:
            start, end, owner = spans[k]
            n = min(end, seg.end) - max(start, seg.start)
            if n > 0:
                acc += _element_features(owner, cache) * n
                total += n
            k += 1
        rows.append(acc / max(1, total))
    n = len(segments)
    position = (np.arange(n) / max(1, n - 1))[:, None]
    x = np.hstack([np.array(rows).reshape(n, _N_NODE), np.array([_text_features(s.text) for s in segments]).reshape(n, _N_TEXT),
                   _main_text_features(segments, extracted).reshape(n, _N_MAIN_TEXT), position])
    return np.hstack([x, *(_neighbourhood_means(x, k) for k in NEIGHBOURHOODS)]) if n else x


def html_segments(html: str) -> tuple[list[Segment], np.ndarray]:
    """Segments of an HTML page (as ``segmentation.segment_html``) and their features."""
    text, spans = text_with_elements(html)
    segments = segment_text(text)
    return segments, segment_features(spans, segments, main_text(html))


# --------------------------------------------------------------------------- #
# 3-4. Model and smoothing
# --------------------------------------------------------------------------- #
def smooth(p_article: np.ndarray, switch_cost: float = SWITCH_COST) -> np.ndarray:
    """Posterior P(article) of each segment under a two-state HMM whose emissions are
    the classifier's scores and whose state changes cost `switch_cost` nats
    (forward-backward in log space)."""
    n = len(p_article)
    if n == 0:
        return p_article
    p = np.clip(p_article, 1e-6, 1 - 1e-6)
    emit = np.log(np.stack([1 - p, p], axis=1))  # states: 0 boilerplate, 1 article
    stay = -np.log1p(np.exp(-switch_cost))
    move = -switch_cost + stay
    trans = np.array([[stay, move], [move, stay]])
    fwd, bwd = np.zeros((n, 2)), np.zeros((n, 2))
    fwd[0] = np.log(0.5) + emit[0]
    for i in range(1, n):
        fwd[i] = emit[i] + np.logaddexp.reduce(fwd[i - 1][:, None] + trans, axis=0)
    for i in range(n - 2, -1, -1):
        bwd[i] = np.logaddexp.reduce(trans + (emit[i + 1] + bwd[i + 1])[None, :], axis=1)
    post = fwd + bwd
    post -= np.logaddexp(post[:, 0], post[:, 1])[:, None]
    return np.exp(post[:, 1])


class PageStructureModel:
    """P(article) of each segment of an HTML page from its markup."""

    def __init__(self, classifier, switch_cost: float = SWITCH_COST):
        self.classifier = classifier
        self.switch_cost = switch_cost

    @classmethod
    def fit(cls, pages: list[tuple[np.ndarray, np.ndarray]], seed: int = 42) -> "PageStructureModel":
        """pages: (features, is_article mask) of each training page."""
        from sklearn.linear_model import LogisticRegression

        x = np.vstack([f for f, _ in pages])
        y = np.concatenate([m for _, m in pages]).astype(int)
        classifier = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced", random_state=seed)
        return cls(classifier.fit(x, y))

    def p_article(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        return smooth(self.classifier.predict_proba(features)[:, 1], self.switch_cost)

    def save(self, folder: Path) -> None:
        """page_structure.npz: the logistic regression's arrays and the switch cost, no
        pickle (see load). An older page_structure.joblib beside it goes."""
        from claimsort.modeling.tfidf import logistic_regression_arrays
        from claimsort.io.arrays import save_arrays

        save_arrays(Path(folder) / PAGE_STRUCTURE_FILE, {**logistic_regression_arrays(self.classifier),
                                                         "switch_cost": np.float64(self.switch_cost)})
        (Path(folder) / LEGACY_PAGE_STRUCTURE_FILE).unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: str | Path) -> "PageStructureModel | None":
        """The model saved in `folder`, or None when it has none. Never unpickled: an
        older folder's page_structure.joblib is an error saying how to convert it."""
        from claimsort.io.errors import InputError
        from claimsort.modeling.loading import legacy_pickle_error
        from claimsort.io.arrays import load_arrays
        from claimsort.modeling.tfidf import logistic_regression_from

        path = Path(folder) / PAGE_STRUCTURE_FILE
        if not path.is_file():
            if (Path(folder) / LEGACY_PAGE_STRUCTURE_FILE).is_file():
                raise legacy_pickle_error(Path(folder) / LEGACY_PAGE_STRUCTURE_FILE,
                                          f"`claimsort page-structure {folder}` refits the model in the "
                                          "safe format (needs the web-pages corpus), or delete the file to go "
                                          "without it")
            return None
        saved = load_arrays(path)
        if not {"coef", "intercept", "classes", "switch_cost"} <= set(saved):
            raise InputError(f"{path}: not a page-structure model (arrays: {', '.join(saved) or 'none'}); refit it "
                            f"with `claimsort page-structure {folder}`")
        n = saved["coef"].shape[-1]
        if n != N_FEATURES:  # fitted by an older claimsort on other features
            raise InputError(f"{path}: fitted on {n} features, this claimsort computes {N_FEATURES}; refit it with "
                             f"`claimsort page-structure {folder}` (or delete the file to go without it)")
        return cls(logistic_regression_from(saved), float(saved["switch_cost"]))


def combine(proba: np.ndarray, p_article: np.ndarray, boilerplate: int, veto: float = SENTENCE_VETO) -> np.ndarray:
    """Label probabilities of a page's segments: P(boilerplate) from the page
    structure, the rest shared among the other labels as the sentence model shares it.

    Where the sentence model itself is at least `veto` sure that a segment is
    boilerplate, its own probabilities stand: bylines, datelines, copyright lines and
    tag lists often sit inside the article's markup, and the scheme calls them
    boilerplate (the extraction benchmark's ground truth often keeps them; see
    BENCHMARKS.md for what this costs there)."""
    out = proba.astype(np.float64).copy()
    out[:, boilerplate] = 0.0
    rest = out.sum(axis=1, keepdims=True)
    out = np.where(rest > 0, out / np.maximum(rest, 1e-12), 1.0 / (out.shape[1] - 1)) * p_article[:, None]
    out[:, boilerplate] = 1.0 - p_article
    sure = proba[:, boilerplate] >= veto
    out[sure] = proba[sure]
    return out.astype(np.float32)


# --------------------------------------------------------------------------- #
# Training data: the web pages of a split, labelled by their ground-truth body
# --------------------------------------------------------------------------- #
def labelled_page(html: str, article_body: str) -> tuple[list[Segment], np.ndarray, np.ndarray]:
    """Segments, features and is_article mask of a page; is_article comes from the
    page's ground-truth article body (``webpages.body_mask``)."""
    from claimsort.text.overlap import body_mask, page_headline

    segments, features = html_segments(html)
    return segments, features, np.array(body_mask(segments, article_body, page_headline(html)), dtype=bool)


def training_pages(annotations: Path, web_dir: Path, split: str = "train") -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, is_article) of the annotated web pages of `split` (see labelled_page)."""
    import json

    from claimsort.corpus import read_standoff
    from claimsort.io.files import read_page

    truth = json.loads((web_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for rec in read_standoff(annotations):
        if rec.get("split") != split:
            continue
        page_id = Path(rec["path"]).name.split(".")[0]
        body = (truth.get(page_id) or {}).get("articleBody")
        path = web_dir / rec["path"]
        if not body or not path.is_file():
            continue
        segments, features, is_article = labelled_page(read_page(path), body)
        if segments:
            pages.append((features, is_article))
    return pages
