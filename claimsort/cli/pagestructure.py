"""claimsort page-structure MODEL_DIR: fit the page-structure model on the training
web pages and add it to a trained model folder (train.py does this itself)."""
from __future__ import annotations

import sys
from pathlib import Path

from claimsort.cli import fail_cleanly
from claimsort.html.pagestructure import PAGE_STRUCTURE_FILE, PageStructureModel, training_pages


# --------------------------------------------------------------------------- #
# claimsort page-structure MODEL_DIR: add the model to a trained folder
# --------------------------------------------------------------------------- #
def main(argv=None) -> int:
    import argparse

    from claimsort.corpus import WEB_PAGES_DIR_ENV, resolve_dir

    parser = argparse.ArgumentParser(description="Fit the page-structure model on the training web pages and "
                                                 "save it in a model folder (train.py does this itself).")
    parser.add_argument("model", help="model folder to add page_structure.npz to (it replaces an older "
                                         "page_structure.joblib)")
    parser.add_argument("--web-dir", default=resolve_dir("web", None)[0],
                        help=f"web-pages corpus folder (default ${WEB_PAGES_DIR_ENV}, else ../shared/corpora/web-pages)")
    parser.add_argument("--annotations", default="data/annotations/web-pages.jsonl",
                        help="web-page stand-off annotations (their split says which pages are training pages)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if not args.web_dir or not (Path(args.web_dir) / "ground-truth.json").is_file():
        raise SystemExit(f"error: {args.web_dir or 'no --web-dir'}: not a web-pages corpus folder "
                         f"(needs ground-truth.json; pass --web-dir or set ${WEB_PAGES_DIR_ENV})")
    if not Path(args.model).is_dir():
        raise SystemExit(f"error: {args.model}: no such model folder")
    pages = training_pages(Path(args.annotations), Path(args.web_dir))
    if not pages:
        raise SystemExit(f"error: {args.annotations}: no training pages found in {args.web_dir}")
    PageStructureModel.fit(pages, seed=args.seed).save(Path(args.model))
    print(f"{Path(args.model) / PAGE_STRUCTURE_FILE}: fitted on {len(pages)} pages, "
          f"{sum(len(m) for _, m in pages)} segments")
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
