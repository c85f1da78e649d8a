"""Cross-validated boilerplate removal by the page-structure model alone.

    python bench/page_structure_cv.py [--web-dir DIR] [--folds 5] [--seed 0]

Every page of the web-pages corpus with a ground-truth body, split into --folds
folds by page (seeded shuffle). For each fold, claimsort.pagestructure's model is
fitted on the other folds (labels from the ground truth, as train.py does on the
training split) and removes boilerplate on the fold's pages: a segment is kept when
its smoothed P(article) is at least 0.5. Scored as bench/boilerplate_removal.py
(4-token shingle P/R/F1 per page, pages weighted equally). The sentence model is
not involved: this isolates what the page-structure model achieves on pages it
never saw. A second row refits it without its trafilatura features (those columns
zeroed): what the markup and text-shape features achieve alone; a third scores
trafilatura's own extraction on the same pages.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
from pathlib import Path


from _common import SHARED_CORPORA, markdown_table, write_result  # noqa: E402  (sets sys.path)
from boilerplate_removal import score, shingles


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web-dir", default=os.environ.get("CLAIMSORT_WEB_PAGES_DIR") or str(SHARED_CORPORA / "web-pages"),
                        help="web-pages corpus folder (html/, ground-truth.json)")
    parser.add_argument("--folds", type=int, default=5, help="number of folds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the page shuffle")
    args = parser.parse_args(argv)

    from claimsort.html.pagestructure import MAIN_TEXT_COLUMNS, PageStructureModel, labelled_page, main_text
    from claimsort.io.files import read_page

    web_dir = Path(args.web_dir)
    truth_file = web_dir / "ground-truth.json"
    if not truth_file.is_file():
        raise SystemExit(f"{truth_file}: not found (pass --web-dir or set CLAIMSORT_WEB_PAGES_DIR)")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    pages, trafilatura_scores = {}, []
    for pid in sorted(truth):
        path = web_dir / "html" / f"{pid}.html.gz"
        body = truth[pid].get("articleBody") or ""
        if not path.is_file() or not shingles(body):
            continue
        html = read_page(path)
        segments, features, is_article = labelled_page(html, body)
        if segments:
            pages[pid] = (segments, features, is_article, shingles(body))
            trafilatura_scores.append(score(main_text(html), shingles(body)))
    ids = sorted(pages)
    random.Random(args.seed).shuffle(ids)
    folds = [ids[k::args.folds] for k in range(args.folds)]

    def markup_only(features):
        features = features.copy()
        features[:, MAIN_TEXT_COLUMNS] = 0.0
        return features

    variants = {"page-structure model (markup, text shape, trafilatura's main text)": lambda f: f,
                "the same without the trafilatura features": markup_only}
    rows = []
    for name, view in variants.items():
        scores = []
        for k, fold in enumerate(folds):
            train = [pid for j, f in enumerate(folds) if j != k for pid in f]
            model = PageStructureModel.fit([(view(pages[pid][1]), pages[pid][2]) for pid in train])
            for pid in fold:
                segments, features, _, gold = pages[pid]
                keep = model.p_article(view(features)) >= 0.5
                scores.append(score("\n".join(s.text for s, kp in zip(segments, keep) if kp), gold))
            print(f"{name}: fold {k + 1}/{args.folds}", flush=True)
        p, r, f = (statistics.mean(s[i] for s in scores) for i in range(3))
        rows.append([name, len(scores), args.folds, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"])
    p, r, f = (statistics.mean(s[i] for s in trafilatura_scores) for i in range(3))
    rows.append(["trafilatura alone (no fitting), for comparison", len(trafilatura_scores), "", f"{p:.3f}", f"{r:.3f}",
                 f"{f:.3f}"])
    table = markdown_table(["method", "pages", "folds", "precision", "recall", "F1"], rows)
    notes = [f"All {len(scores)} pages of the corpus with a ground-truth body; {args.folds} folds by page "
             f"(shuffle seed {args.seed}); each fold scored by a model fitted on the other folds. Same scoring as "
             "the boilerplate-removal benchmark. The sentence model is not used. "
             "Reruns can differ in the third decimal (the logistic regression's solver is not bit-reproducible "
             "across runs here)."]
    write_result("page_structure_cv", "Page-structure model, cross-validated", table, notes,
                 reproduce=f"python bench/page_structure_cv.py --folds {args.folds} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
