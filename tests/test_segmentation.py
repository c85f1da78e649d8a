import re

import pytest
from conftest import FIXTURES, SHARED

from claimsort.text.segmentation import markdown_to_text, segment_html, segment_markdown, segment_text

BOILERPLATE_LINES = ["By Delta Watch Staff", "Northern Review, March 3, 2024", "Region: Europe, Low Countries",
                     "Theme: Environment, Infrastructure", "Note to readers: please click the share buttons above.",
                     "Copyright © Northern Review, 2024"]


def test_seed_style_article_keeps_boilerplate_lines_and_splits_sentences():
    text = (FIXTURES / "seed_style_article.txt").read_text()
    segments = [s.text for s in segment_text(text)]
    for line in BOILERPLATE_LINES:
        assert line in segments, line
    assert segments[0] == "Drones Over the Delta: 92% of Flood Defences Restored, Ministry Says?"
    assert "Deputy Minister Anna Brugge told reporters that 1,240 workers were still on site." in segments
    assert '"We have lost the whole season," said one grower near Zierikzee.' in segments
    assert len(segments) == 13


def test_offsets_point_into_the_source():
    text = (FIXTURES / "seed_style_article.txt").read_text()
    for seg in segment_text(text):
        assert text[seg.start:seg.end] == seg.text


@pytest.mark.skipif(not (SHARED / "LABELS.md").is_file(), reason="../shared/LABELS.md is not beside the checkout")
def test_seed_article_of_the_label_scheme(tmp_path):
    """The seed article of LABELS.md, rebuilt at test time from its table (never committed):
    every row comes out as its own segment, boilerplate lines included."""
    scheme = (SHARED / "LABELS.md").read_text()
    table = scheme.split("## The seed article, labelled")[1].split("##")[0]
    rows = [r.split("|")[1].strip() for r in table.splitlines() if r.startswith("| ") and "---" not in r][1:]
    rows = [r for r in rows if "..." not in r]  # rows the scheme abbreviates cannot be rebuilt exactly
    assert len(rows) >= 8
    segments = [s.text for s in segment_text("\n".join(rows))]
    assert segments == rows


def test_letterless_piece_is_glued_back():
    segments = [s.text for s in segment_text('He said: "It is over. ” And left.')]
    assert all(re.search(r"\w", s) for s in segments)


def test_markdown_links_keep_anchor_text():
    md = "# Big [Headline](http://x.y)\n\n* [Home](/) \n\nThe **ministry** said [in a statement](http://a.b/c) that it was fine.\n\n![Photo: Jane Roe](img.png)"
    text = markdown_to_text(md)
    assert "http" not in text
    segments = [s.text for s in segment_markdown(md)]
    assert segments == ["Big Headline", "Home", "The ministry said in a statement that it was fine.", "Photo: Jane Roe"]


def test_markdown_paragraph_wrapped_over_lines_is_one_segment():
    """A hard-wrapped Markdown paragraph is one paragraph: its sentence is not cut at
    the line break (the hand-written regexes before the Markdown library cut it)."""
    md = "# Roads\n\nThe ministry said on Monday that all\nroads were open again.\n\n| a | b |\n|---|---|\n| one | two |\n"
    assert [s.text for s in segment_markdown(md)] == ["Roads", "The ministry said on Monday that all roads were open again.",
                                                        "a", "b", "one", "two"]


def test_html_keeps_menus_and_form_fields_as_segments():
    html = """<html><head><title>T</title><script>var x=1;</script></head><body>
    <nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
    <h1>Minister denies report</h1><p class="byline">By Jane Roe</p>
    <p>The minister said the report was false. Critics disagreed.</p>
    <form><label>Your email</label><input name="e"><button>Subscribe</button></form>
    <footer>Copyright © 2024 Example News</footer></body></html>"""
    segments = [s.text for s in segment_html(html)]
    for expected in ["Home", "World", "Minister denies report", "By Jane Roe", "The minister said the report was false.",
                     "Critics disagreed.", "Your email", "Subscribe", "Copyright © 2024 Example News"]:
        assert expected in segments
    assert not any("var x" in s for s in segments)


def test_empty_inputs():
    assert segment_text("") == []
    assert segment_text("\n \n") == []
    assert segment_html("") == []
