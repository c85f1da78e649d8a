"""The corpus on the command line.

    claimsort data build [--ptc-dir DIR] [--web-pages-dir DIR] [--out data/build]
    claimsort data stats [--ptc-dir DIR] [--web-pages-dir DIR]
    claimsort data check FILE.jsonl [...]

`build` joins the stand-off annotations with the third-party texts (directories
from the flags, else $CLAIMSORT_PTC_DIR / $CLAIMSORT_WEB_PAGES_DIR) and writes
one segment table per split; it refuses a text whose hash differs and names
every missing document. `stats` prints the counts per source, split and label
(those of data/README.md). `check` validates segment tables.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from claimsort.cli import fail_cleanly
from claimsort.corpus import SOURCES, SPLITS, CorpusPaths, build_corpus, read_segment_table, split_rows, write_segment_table
from claimsort.labels import LABELS


def stats_table(rows: list[dict]) -> str:
    counts = Counter((r.get("source", "?"), r["split"], r["label"]) for r in rows)
    docs = Counter()
    for source, split, _ in {(r.get("source", "?"), r["split"], r["doc_id"]) for r in rows}:
        docs[(source, split)] += 1
    lines = ["| source | split | documents | segments | " + " | ".join(LABELS) + " |",
             "|---|---|---|---|" + "---|" * len(LABELS)]
    present = [s for s in SOURCES if any(k[0] == s for k in counts)]
    for source in present + ["all"]:
        for split in list(SPLITS) + ["all"]:
            def count(label, source=source, split=split):
                return sum(v for (so, sp, la), v in counts.items()
                           if (source == "all" or so == source) and (split == "all" or sp == split) and la == label)
            n_docs = sum(v for (so, sp), v in docs.items()
                         if (source == "all" or so == source) and (split == "all" or sp == split))
            per = [count(label) for label in LABELS]
            if sum(per):
                lines.append(f"| {source} | {split} | {n_docs} | {sum(per)} | " + " | ".join(map(str, per)) + " |")
    return "\n".join(lines)


def _corpus(args) -> list[dict]:
    return build_corpus(CorpusPaths(ptc_dir=args.ptc_dir, web_pages_dir=args.web_pages_dir,
                                    newsdiscourse_dir=args.newsdiscourse_dir, basil_dir=args.basil_dir),
                        announce=lambda line: print(line, file=sys.stderr))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="claimsort data", description="Build and describe the corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("build", "join annotations with texts; write one table per split"),
                            ("stats", "counts per source, split and label")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--ptc-dir", help="PTC folder (default $CLAIMSORT_PTC_DIR; not used when unset)")
        p.add_argument("--web-pages-dir", help="web-pages folder (default $CLAIMSORT_WEB_PAGES_DIR)")
        p.add_argument("--newsdiscourse-dir", help="NewsDiscourse folder (default $CLAIMSORT_NEWSDISCOURSE_DIR)")
        p.add_argument("--basil-dir", help="BASIL folder (default $CLAIMSORT_BASIL_DIR); each folder not given "
                                           "is looked for in ../shared/corpora/")
        if name == "build":
            p.add_argument("--out", type=Path, default=Path("data/build"), help="output folder")
    p = sub.add_parser("check", help="validate segment tables")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--labelled", action="store_true", help="require a label on every row")
    args = parser.parse_args(argv)

    if args.command == "check":
        for path in args.files:
            rows = read_segment_table(path, require_label=args.labelled)
            print(f"{path}: {len(rows)} segments in {len({r['doc_id'] for r in rows})} documents, OK")
        return 0
    rows = _corpus(args)
    if args.command == "stats":
        print(stats_table(rows))
        return 0
    for split, split_rows_ in split_rows(rows).items():
        write_segment_table(split_rows_, args.out / f"{split}.jsonl")
        print(f"{args.out / f'{split}.jsonl'}: {len(split_rows_)} segments")
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
