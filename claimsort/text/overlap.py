"""Text overlap: word tokens, the normalised key under which two segments are the
same text, word shingles, and, for the real news web pages, the article body found
by its overlap with the page's ground-truth text.

Segments outside the ground-truth article body are `boilerplate` by derivation,
not by guess. The body segments are what annotators label. The page headline
(its first <h1>) is part of the article by the scheme even though the
extraction benchmark leaves it out of the body, so it is sent to annotators too.
"""
from __future__ import annotations

import re
import unicodedata

from claimsort.text.segmentation import Segment, html_to_text, segment_text

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lowercased word tokens (NFKC)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _WORD.findall(text)


def normalise(text: str) -> str:
    """A segment's words, lowercased and joined by spaces: the key under which two
    segments count as the same text (split leakage, overlapping articles)."""
    return " ".join(words(text))


def word_shingles(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """The n-grams of a token list, as a set."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def page_headline(html: str) -> str | None:
    """Text of the page's first <h1>, if any."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except Exception:  # lxml raises several types on odd markup; a page without a tree has no h1
        return None
    for h1 in tree.iter("h1"):
        text = " ".join(h1.text_content().split())
        if text:
            return text
    return None


class TextIndex:
    """A text's word trigrams and word sequence, to ask how much of a segment it contains."""

    def __init__(self, text: str):
        text_words = words(text)
        self.empty = not text_words
        self.trigrams = word_shingles(text_words, 3)
        self.joined = " " + " ".join(text_words) + " "

    def trigram_share(self, segment_words: list[str]) -> float:
        """Share of the segment's word trigrams found in the text (0 for fewer than three words)."""
        grams = word_shingles(segment_words, 3)
        return len(grams & self.trigrams) / len(grams) if grams else 0.0

    def contains_phrase(self, segment_words: list[str]) -> bool:
        """Whether the segment's words occur in the text as one word sequence."""
        return bool(segment_words) and (" " + " ".join(segment_words) + " ") in self.joined


def body_mask(segments: list[Segment], article_body: str, headline: str | None = None) -> list[bool]:
    """Which segments belong to the ground-truth article body (or are its headline).

    A segment of four or more words is in the body when at least 60% of its word
    trigrams occur in the body. A shorter one must occur in the body as a word
    sequence and lie between the first and last long body segment, so that a
    menu entry such as "Home" is not taken for a body word.
    """
    body = TextIndex(article_body)
    headline_words = words(headline) if headline else None
    is_body: list[bool | None] = []
    for seg in segments:
        seg_words = words(seg.text)
        if headline_words and seg_words == headline_words:
            is_body.append(True)
        elif len(seg_words) >= 4:
            is_body.append(body.trigram_share(seg_words) >= 0.6)
        else:
            is_body.append(None)  # decided below
    long_hits = [i for i, v in enumerate(is_body) if v]
    first, last = (long_hits[0], long_hits[-1]) if long_hits else (0, -1)
    mask = []
    for i, (seg, v) in enumerate(zip(segments, is_body)):
        if v is None:
            v = first <= i <= last and body.contains_phrase(words(seg.text))
        mask.append(bool(v))
    return mask


def page_segments(html: str) -> tuple[str, list[Segment]]:
    """The visible text of a page and its segments (offsets into that text)."""
    text = html_to_text(html)
    return text, segment_text(text)
