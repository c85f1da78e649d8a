"""One HTML page per document, segments highlighted by label, with a legend:
a person reads an article's structure at a glance."""
from __future__ import annotations

import html
import re
from pathlib import Path

from claimsort.labels import LABELS

COLOURS = {
    "official_claim": "#cfe3ff",
    "reported_statement": "#e8e8e8",
    "editorial_skepticism": "#ffd7c2",
    "boilerplate": "#fff3a8",
}
STYLE = """body{font-family:Georgia,serif;max-width:860px;margin:2em auto;line-height:1.6;color:#222}
h1{font-family:sans-serif;font-size:1.1em;color:#555}
.legend{font-family:sans-serif;font-size:.85em;margin-bottom:1.5em;position:sticky;top:0;background:#fff;padding:.5em 0}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px}
.seg{padding:1px 2px;border-radius:3px}
.seg[data-label=boilerplate]{font-family:sans-serif;font-size:.85em}
p{margin:.4em 0}"""


def _safe_name(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", doc_id)[:120] or "document"


def document_page(rows: list[dict], title: str) -> str:
    legend = "".join(f'<span style="background:{COLOURS[l]}">{l}</span>' for l in LABELS)
    body = []
    for row in rows:
        label = row["label"]
        confidence = row.get(f"p_{label}")
        tip = f"{label} ({confidence:.2f})" if confidence is not None else label
        body.append(f'<p><span class="seg" data-label="{label}" style="background:{COLOURS[label]}" '
                    f'title="{html.escape(tip)}">{html.escape(row["text"])}</span></p>')
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<div class="legend">{legend}</div>' + "\n".join(body) + "</body></html>")


def page_name(doc_id: str, number: int | None = None) -> str:
    """<number>-<doc_id>.html: the document's number in the run (from 1) keeps two
    documents with the same id (a.txt in two folders) from sharing one page, and
    lists the pages in input order."""
    name = _safe_name(doc_id)
    return f"{number:06d}-{name}.html" if number is not None else f"{name}.html"


def write_document_page(rows: list[dict], doc, folder: Path, number: int | None = None) -> Path:
    from claimsort.io.files import write_atomic

    path = folder / page_name(doc.doc_id, number)
    write_atomic(path, lambda f: f.write(document_page(rows, f"{doc.doc_id} — {doc.source}")))
    return path
