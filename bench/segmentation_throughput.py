"""Throughput of the chosen segmenter (syntok, through claimsort.text.segmentation).

    python bench/segmentation_throughput.py [--ptc-dir DIR] [--web-dir DIR] [--runs 3]

Plain text: claimsort.text.segmentation.segment_text over the PTC train articles.
HTML: claimsort.text.overlap.page_segments (html-text visible text, then
segment_text) over the web pages, when their folder is present. One process,
one core; median of --runs passes after a warm-up over the first files.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from _common import SHARED_CORPORA, markdown_table, write_result  # noqa: E402


def measure(items, fn, runs: int) -> tuple[float, int]:
    for item in items[:5]:
        fn(item)
    times, n = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        n = sum(len(fn(item)) for item in items)
        times.append(time.perf_counter() - start)
    return statistics.median(times), n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptc-dir", default=os.environ.get("CLAIMSORT_PTC_DIR") or str(SHARED_CORPORA / "ptc"))
    parser.add_argument("--web-dir", default=os.environ.get("CLAIMSORT_WEB_PAGES_DIR") or str(SHARED_CORPORA / "web-pages"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from claimsort.html.pagestructure import html_segments
    from claimsort.text.segmentation import segment_text
    from claimsort.text.overlap import page_segments
    from claimsort.io.files import read_page

    rows, notes = [], []
    ptc = Path(args.ptc_dir) / "train-articles"
    if ptc.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(ptc.glob("*.txt"))]
        sec, n = measure(texts, segment_text, args.runs)
        chars = sum(len(t) for t in texts)
        rows.append(["PTC train articles (plain text)", "segment_text", f"{len(texts):,}", f"{n:,}",
                     f"{n / sec:,.0f}", f"{len(texts) / sec:,.1f}", f"{chars / sec / 1e6:.2f}"])
    else:
        notes.append(f"PTC train articles not found ({ptc}): plain-text row skipped.")
    html_dir = Path(args.web_dir) / "html"
    if html_dir.is_dir():
        pages = [read_page(p) for p in sorted(html_dir.glob("*.html*"))]
        sec, n = measure(pages, lambda h: page_segments(h)[1], args.runs)
        chars = sum(len(h) for h in pages)
        rows.append(["web pages (HTML)", "page_segments (html-text + segment_text)", f"{len(pages):,}", f"{n:,}",
                     f"{n / sec:,.0f}", f"{len(pages) / sec:,.1f}", f"{chars / sec / 1e6:.2f}"])
        # what predict.py does with an HTML page: the same segments plus their markup features
        sec, n = measure(pages, lambda h: html_segments(h)[0], args.runs)
        rows.append(["web pages (HTML)", "html_segments (+ markup features, predict.py's path)", f"{len(pages):,}",
                     f"{n:,}", f"{n / sec:,.0f}", f"{len(pages) / sec:,.1f}", f"{chars / sec / 1e6:.2f}"])
    else:
        notes.append(f"web pages not found ({html_dir}): HTML row skipped.")
    if not rows:
        raise SystemExit("no corpus found: pass --ptc-dir / --web-dir")
    table = markdown_table(["input", "function", "documents", "segments", "segments/s", "documents/s",
                            "MB/s (characters of input)"], rows)
    notes.insert(0, f"syntok sentence splitting as used by claimsort (one process, one core); median of {args.runs} passes.")
    write_result("segmentation_throughput", "Segmentation throughput (syntok)", table, notes, torch_threads="n/a",
                 reproduce="python bench/segmentation_throughput.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
