"""Boilerplate removal on real news web pages, against their ground-truth article body.

    python bench/boilerplate_removal.py [--model models/default] [--web-dir DIR]
        [--annotations data/annotations/web-pages.jsonl] [--fast int8] [--backend auto|torch|onnx] [--threads 2] [--limit N]

Pages: the web-pages corpus (html/<id>.html.gz + ground-truth.json) minus the
pages of the training split of the web-page annotations (all pages when that file
is absent or empty). Methods, each giving the page's article text:

* claimsort (predict.py on the HTML): every segment of the page's visible text,
  classified with the page as one document by the sentence model, its boilerplate
  probability replaced by the page-structure model's (claimsort.html.pagestructure:
  markup features, trained on the training-split pages, smoothed along the page)
  when the model folder has one, except where the sentence model is at least 0.9
  sure of boilerplate (claimsort.html.pagestructure.combine); segments labelled
  boilerplate are dropped, the rest joined; also without that veto;
* the sentence model alone: the same, without the page-structure model (text only);
* trafilatura.extract(html) (default settings);
* html-text: all visible text (claimsort.text.segmentation.html_to_text), i.e. no removal.

A second table scores the same predictions by the label scheme instead: on the
held-out pages that readers annotated (web-pages.jsonl, splits other than train),
every segment's gold label against claimsort's, with and without the veto, and the
sentence model's alone (boilerplate F1 and macro-F1 over the four labels).

Score: 4-token shingles of lowercased word tokens (NFKC, \\w+), as sets; per page
precision = |pred & gold| / |pred|, recall = |pred & gold| / |gold| (an empty
prediction counts 0 for both); the mean over pages of P, R and F1 (each page weighs
the same). Target: model F1 >= 0.90.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from _common import ROOT, SHARED_CORPORA, macro_f1, markdown_table, resolve_model, write_result  # noqa: E402

SHINGLE = 4


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    from claimsort.text.overlap import word_shingles, words

    tokens = words(text or "")
    if 0 < len(tokens) < n:  # a text shorter than one shingle is its one shingle
        return {tuple(tokens)}
    return word_shingles(tokens, n)


def score(pred: str, gold_set: set) -> tuple[float, float, float]:
    pred_set = shingles(pred)
    if not pred_set or not gold_set:
        return 0.0, 0.0, 0.0
    tp = len(pred_set & gold_set)
    p, r = tp / len(pred_set), tp / len(gold_set)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def training_pages(annotations: Path) -> tuple[set[str], str]:
    """Page-id prefixes / file stems of the training split, and a note on where they came from."""
    if not annotations.is_file():
        return set(), f"{annotations.relative_to(ROOT) if annotations.is_relative_to(ROOT) else annotations} is absent"
    train, n = set(), 0
    with open(annotations, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            n += 1
            if rec.get("split") == "train":
                doc_id = str(rec.get("doc_id", ""))
                if doc_id.startswith("web-"):
                    train.add(doc_id[4:])
                if rec.get("path"):
                    train.add(Path(rec["path"]).name.split(".")[0])
    if n == 0:
        return set(), f"{annotations.name} is empty"
    return train, f"{annotations.name}: {n} annotated pages"


def annotated_pages(annotations: Path) -> dict[str, list]:
    """Gold (start, end, label) segments of the annotated pages outside the training split, by page file stem."""
    if not annotations.is_file():
        return {}
    gold = {}
    with open(annotations, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                if rec.get("split") != "train" and rec.get("path"):
                    gold[Path(rec["path"]).name.split(".")[0]] = rec["segments"]
    return gold


def is_train(page_id: str, train: set[str]) -> bool:
    return page_id in train or page_id[:16] in train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default", help="transformer model folder")
    parser.add_argument("--web-dir", default=os.environ.get("CLAIMSORT_WEB_PAGES_DIR") or str(SHARED_CORPORA / "web-pages"),
                        help="web-pages corpus folder (html/, ground-truth.json)")
    parser.add_argument("--annotations", default=str(ROOT / "data/annotations/web-pages.jsonl"),
                        help="web-page stand-off annotations (pages of split 'train' are left out)")
    parser.add_argument("--fast", choices=["none", "int8"], default="none", help="predict.py --fast")
    parser.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto", help="predict.py --backend")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=32, help="predict.py's default")
    parser.add_argument("--limit", type=int, help="only the first N held-out pages (a quick check)")
    args = parser.parse_args(argv)

    import torch
    import trafilatura

    from claimsort.labels import LABELS
    from claimsort.modeling.loading import load_classifier
    from claimsort.html.pagestructure import combine, html_segments
    from claimsort.text.segmentation import html_to_text
    from claimsort.io.files import read_page

    torch.set_num_threads(args.threads)
    web_dir = Path(args.web_dir)
    truth_file = web_dir / "ground-truth.json"
    if not truth_file.is_file():
        raise SystemExit(f"{truth_file}: not found (pass --web-dir or set CLAIMSORT_WEB_PAGES_DIR)")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    train, source_note = training_pages(Path(args.annotations))
    page_ids = sorted(pid for pid in truth if not is_train(pid, train))
    n_train = len(truth) - len(page_ids)
    if args.limit:
        page_ids = page_ids[:args.limit]
    clf = load_classifier(resolve_model(args.model), fast=args.fast, backend=args.backend)
    if clf.page_structure is None:
        raise SystemExit(f"{args.model}: no page-structure model (train.py fits one when the web pages are "
                         "present; or run claimsort page-structure MODEL_DIR)")
    boiler = LABELS.index("boilerplate")

    ours, alone = "claimsort (predict.py on the HTML)", "sentence model alone (text only)"
    no_veto = "claimsort without the sentence model's veto"
    methods = {ours: [], no_veto: [], alone: [], "trafilatura": [], "html-text (all visible text)": []}
    kept_share, n_segments, seconds, skipped = [], [], {m: 0.0 for m in methods}, []
    annotated = annotated_pages(Path(args.annotations))
    scheme_gold, scheme_pred, scheme_pages = [], {ours: [], no_veto: [], alone: []}, 0
    for k, pid in enumerate(page_ids, 1):
        path = web_dir / "html" / f"{pid}.html.gz"
        if not path.is_file():
            path = web_dir / "html" / f"{pid}.html"
        gold = shingles(truth[pid].get("articleBody") or "")
        if not path.is_file() or not gold:
            skipped.append(pid)
            continue
        html = read_page(path)

        start = time.perf_counter()
        segments, features = html_segments(html)
        proba = clf.predict_proba([[{"sent_id": i, "text": s.text} for i, s in enumerate(segments)]],
                                  batch_size=args.batch_size)
        text_only = proba.argmax(1) != boiler
        seconds[alone] += time.perf_counter() - start
        start = time.perf_counter()
        p_article = clf.page_structure.p_article(features)
        keep = combine(proba, p_article, boiler).argmax(1) != boiler
        seconds[ours] += time.perf_counter() - start  # + the sentence model's time, added below
        with_veto, without_veto = combine(proba, p_article, boiler), combine(proba, p_article, boiler, veto=1.01)
        keep_no_veto = without_veto.argmax(1) != boiler
        if pid in annotated:  # segments are html_to_text's, so the annotation's offsets are theirs
            scheme_pages += 1
            index = {(seg.start, seg.end): i for i, seg in enumerate(segments)}
            for start, end, label in annotated[pid]:
                i = index[(start, end)]
                scheme_gold.append(label)
                for name, labelled in ((ours, with_veto), (no_veto, without_veto), (alone, proba)):
                    scheme_pred[name].append(LABELS[int(labelled[i].argmax())])
        kept_share.append(float(sum(keep)) / max(1, len(segments)))
        n_segments.append(len(segments))

        start = time.perf_counter()
        traf = trafilatura.extract(html) or ""
        seconds["trafilatura"] += time.perf_counter() - start
        start = time.perf_counter()
        visible = html_to_text(html)
        seconds["html-text (all visible text)"] += time.perf_counter() - start

        for name, text in ((ours, "\n".join(s.text for s, k in zip(segments, keep) if k)),
                           (no_veto, "\n".join(s.text for s, k in zip(segments, keep_no_veto) if k)),
                           (alone, "\n".join(s.text for s, k in zip(segments, text_only) if k)),
                           ("trafilatura", traf), ("html-text (all visible text)", visible)):
            methods[name].append(score(text, gold))
        if k % 20 == 0:
            f1 = statistics.mean(s[2] for s in methods[ours])
            print(f"{k}/{len(page_ids)} pages; model F1 so far {f1:.3f}", flush=True)

    n = len(methods[ours])
    seconds[ours] += seconds[alone]
    seconds[no_veto] = seconds[ours]
    rows = []
    for name, scores in methods.items():
        p, r, f = (statistics.mean(s[i] for s in scores) if scores else float("nan") for i in range(3))
        rows.append([name, n, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{1000 * seconds[name] / max(1, n):.0f}"])
    table = markdown_table(["method", "pages", "precision", "recall", "F1", "ms/page"], rows)
    if scheme_gold:
        from sklearn.metrics import f1_score

        is_boiler = [g == "boilerplate" for g in scheme_gold]
        table += ("\n\nThe same predictions against the label scheme: gold labels of the "
                  f"{scheme_pages} held-out pages readers annotated ({len(scheme_gold):,} segments, "
                  f"{sum(is_boiler):,} boilerplate), every segment of the page.\n\n")
        table += markdown_table(["method", "boilerplate F1", "macro-F1 (4 labels)"], [
            [name, f"{f1_score(is_boiler, [p == 'boilerplate' for p in pred]):.3f}", f"{macro_f1(scheme_gold, pred):.3f}"]
            for name, pred in scheme_pred.items()])
    model_f1 = statistics.mean(s[2] for s in methods[ours]) if n else float("nan")
    held = (f"all {len(truth)} pages ({source_note}, so no page is known to be in training)" if not train
            else f"the {len(truth) - n_train} pages not in the training split ({source_note}; {n_train} training pages left out)")
    notes = [f"Pages: {held}" + (f"; first {args.limit} only (--limit)" if args.limit else "")
             + (f"; {len(skipped)} skipped (no HTML file or empty ground truth)" if skipped else "") + ".",
             f"Model `{args.model}`" + (f" with --fast {args.fast}" if args.fast != "none" else " (fp32)") + f", backend {args.backend}"
             + f", {args.threads} threads; {statistics.mean(n_segments) if n_segments else 0:.0f} segments per page on "
               f"average, of which claimsort kept {100 * statistics.mean(kept_share) if kept_share else 0:.0f}%. "
               "ms/page for claimsort and the sentence model includes segmentation (and, for claimsort, the markup "
               "features and the page-structure model).",
             "claimsort keeps the sentence model's boilerplate call where it is at least 0.9 sure (bylines, "
             "datelines, copyright lines, 'story continues below', affiliate prompts: boilerplate by the label "
             "scheme, though the extraction ground truth often counts them as body; but also short lines the "
             "sentence model cannot place without their markup, such as table cells and list items). Against "
             "the extraction ground truth the veto costs F1 (first table); against the scheme's gold labels it "
             "gains (second table), and the scheme is the product's specification.",
             "The page-structure model's design (features, smoothing cost, the trafilatura feature) was chosen "
             "while looking at these pages' scores as well as at cross-validation, so its figure here is "
             "optimistic; the 5-fold cross-validation over all 140 pages (bench/page_structure_cv.py) is the "
             "less biased estimate of the page-structure model alone.",
             "Scores: per-page precision/recall/F1 over sets of 4-token shingles (lowercased word tokens) of the "
             "extracted text against the ground-truth articleBody, averaged over pages. The ground truth leaves "
             "the headline out, which the model keeps (a small precision cost).",
             f"claimsort F1 {model_f1:.3f}: {'meets' if model_f1 >= 0.90 else 'MISSES'} the target of at least 0.90."]
    write_result("boilerplate_removal", "Boilerplate removal on web pages", table, notes, torch_threads=args.threads,
                 reproduce=f"python bench/boilerplate_removal.py --model {args.model}"
                           + (f" --fast {args.fast}" if args.fast != "none" else "")
                           + (f" --backend {args.backend}" if args.backend != "auto" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
