"""Plain text, Markdown and HTML into segments.

A segment is one sentence of running text, or one stand-alone line that is not in
sentences (headline, byline, menu item, form field, caption). Every visible line
survives: boilerplate is a class to predict, not noise to strip.

Sentences are split with syntok, chosen by measurement (bench/segmenters.py,
BENCHMARKS.md): it ties pysbd on our boundary gold and is five times faster.
Each segment keeps its character offsets into the text it was cut from, which is
what the stand-off annotations in data/ point at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from syntok import segmenter as syntok_segmenter

_HAS_LETTER_OR_DIGIT = re.compile(r"\w")


@dataclass(frozen=True)
class Segment:
    text: str
    start: int  # character offset of the first character in the source text
    end: int  # offset one past the last character


def _split_line(line: str, offset: int) -> list[Segment]:
    """Split one line (a paragraph) into sentence segments with absolute offsets."""
    spans: list[tuple[int, int]] = []
    for paragraph in syntok_segmenter.analyze(line):
        for sentence in paragraph:
            start = sentence[0].offset
            end = sentence[-1].offset + len(sentence[-1].value)
            spans.append((start, end))
    if not spans:
        return []
    # syntok drops nothing but whitespace between tokens, so stretch each span to
    # the start of the next one: a closing quote or bracket stays with its sentence.
    segments = []
    for i, (start, end) in enumerate(spans):
        stop = spans[i + 1][0] if i + 1 < len(spans) else len(line)
        piece = line[start:stop].rstrip()
        if not piece:
            continue
        # A piece with no letters or digits (a closing quote split off, a lone
        # bracket) is a splitter artefact: glue it to the sentence before it.
        if segments and not _HAS_LETTER_OR_DIGIT.search(piece):
            prev = segments[-1]
            glued = line[prev.start - offset : start + len(piece)]
            segments[-1] = Segment(glued, prev.start, offset + start + len(piece))
            continue
        segments.append(Segment(piece, offset + start, offset + start + len(piece)))
    return segments


def segment_text(text: str, glue_across_lines: bool = True) -> list[Segment]:
    """Segments of plain text: each non-empty line is split into sentences.

    A line without sentence punctuation (a menu item, a byline) comes out whole.
    A line with no letters or digits (a closing quote on a line of its own, an
    ellipsis dot) is glued to the segment before it; `glue_across_lines=False`
    keeps such lines apart, as the first annotation batches were cut.
    """
    segments: list[Segment] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            for seg in _split_line(stripped, offset + lead):
                if glue_across_lines and segments and not _HAS_LETTER_OR_DIGIT.search(seg.text):
                    prev = segments[-1]
                    segments[-1] = Segment(text[prev.start:seg.end], prev.start, seg.end)
                else:
                    segments.append(seg)
        offset += len(line)
    return segments


def markdown_to_text(markdown: str) -> str:
    """Visible text of Markdown: rendered by the Markdown library (tables too), then
    read as HTML (html_to_text), so that a paragraph wrapped over several lines is
    one paragraph, links and images keep their anchor and alt text, and headings,
    list items, quotes and table cells are lines of their own."""
    import markdown as markdown_library

    return html_to_text(markdown_library.markdown(markdown, extensions=["tables", _image_alt_text_extension()]))


def _image_alt_text_extension():
    """A Markdown extension that renders an image as its alt text (a photo's caption
    is text of the page; html_to_text would drop an <img>)."""
    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor

    class AltText(Treeprocessor):
        def run(self, root):
            for img in root.iter("img"):
                alt = img.get("alt", "")
                img.tag, img.text = "span", alt
                img.attrib.clear()

    class ImageAltText(Extension):
        def extendMarkdown(self, md):
            md.treeprocessors.register(AltText(md), "image_alt_text", 0)

    return ImageAltText()


# Besides html-text's own block tags, form fields, buttons and table cells each
# become a line: "Your email" and "Subscribe" are two segments, not one.
_EXTRA_NEWLINE_TAGS = frozenset({"label", "button", "option", "td", "th", "summary", "address", "caption"})


def html_newline_tags() -> tuple[frozenset, frozenset]:
    """The tags that start a new line, and those that start a paragraph, in html_to_text."""
    import html_text

    return frozenset(html_text.NEWLINE_TAGS | _EXTRA_NEWLINE_TAGS), frozenset(html_text.DOUBLE_NEWLINE_TAGS)


def html_to_text(html: str | bytes) -> str:
    """All visible text of an HTML page, one line per block element (html-text)."""
    import html_text

    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if not html.strip():
        return ""
    newline_tags, double_newline_tags = html_newline_tags()
    return html_text.extract_text(html, guess_layout=True, newline_tags=newline_tags,
                                  double_newline_tags=double_newline_tags)


def segment_markdown(markdown: str) -> list[Segment]:
    return segment_text(markdown_to_text(markdown))


def segment_html(html: str | bytes) -> list[Segment]:
    return segment_text(html_to_text(html))


def segment_document(text: str, fmt: str) -> list[Segment]:
    """Segments of a document given its format: 'text', 'markdown' or 'html'."""
    if fmt == "text":
        return segment_text(text)
    if fmt == "markdown":
        return segment_markdown(text)
    if fmt == "html":
        return segment_html(text)
    raise ValueError(f"unknown document format {fmt!r} (expected text, markdown or html)")
