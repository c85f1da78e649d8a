"""Cut the NewsDiscourse (train/ and validation/) and BASIL articles not yet annotated
into batch files for readers.

    python annotation/make_batches.py --newsdiscourse-dir ../shared/corpora/newsdiscourse \
        --basil-dir ../shared/corpora/basil --out /tmp/batches --first 129

Each batch file holds whole articles, in reading order, about `--size` segments:
one TSV line per segment, `doc_id, sent_id, text`, with a blank line between
articles. The segments are exactly those the stand-off builder
(annotation/standoff.py) will join labels to: the article text as
claimsort.corpus renders it, cut by claimsort.text.segmentation. The batch files
hold third-party text: write them outside the repository, never commit them.

Order: Xinhua, BASIL (Fox, HuffPost, NYT, a whole event together), NYT, Reuters,
as issue 12 asks (outlets unlike PTC's first); within an outlet, fixed by --seed.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from claimsort.corpus import (THIRD_PARTY, basil_text, newsdiscourse_doc_id, newsdiscourse_outlet,
                              newsdiscourse_text, read_standoff)
from claimsort.text.segmentation import segment_text

ROOT = Path(__file__).resolve().parents[1]
OUTLET_ORDER = ("xinhua", "basil", "nyt", "reuters")


def annotated_ids(annotations: Path) -> set[str]:
    """Documents of the stand-off files in `annotations` (data/annotations by default)."""
    return {rec["doc_id"] for source in ("newsdiscourse", "basil")
            for rec in read_standoff(annotations / Path(THIRD_PARTY[source].annotations).name)}


def pending_articles(nd_dir: Path, basil_dir: Path, seed: int, annotations: Path) -> list[tuple[str, str]]:
    """(doc_id, rendered text) of every article not yet annotated, in batch order."""
    done = annotated_ids(annotations)
    groups: dict[str, list[list[tuple[str, str]]]] = {k: [] for k in OUTLET_ORDER}
    for path in sorted([*nd_dir.glob("train/*/*.txt"), *nd_dir.glob("validation/*.txt")]):
        doc_id = newsdiscourse_doc_id(str(path.relative_to(nd_dir)))
        if doc_id not in done:
            groups[newsdiscourse_outlet(doc_id)].append(
                [(doc_id, newsdiscourse_text(path.read_text(encoding="utf-8")))])
    events: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(basil_dir.glob("articles/*/*.json")):
        doc_id = f"basil-{path.stem}"
        if doc_id not in done:
            raw = path.read_text(encoding="utf-8")
            events.setdefault(json.loads(raw)["triplet-uuid"], []).append((doc_id, basil_text(raw)))
    groups["basil"] = [events[k] for k in sorted(events)]
    rng = random.Random(seed)
    out = []
    for outlet in OUTLET_ORDER:
        units = groups[outlet]
        rng.shuffle(units)
        out.extend(article for unit in units for article in unit)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--newsdiscourse-dir", type=Path, required=True)
    parser.add_argument("--basil-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the batch files (outside the repo)")
    parser.add_argument("--first", type=int, required=True, help="number of the first batch (bNN)")
    parser.add_argument("--size", type=int, default=300, help="about this many segments a batch")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--annotations", type=Path, default=ROOT / "data/annotations",
                        help="folder of the stand-off files that say what is annotated already")
    args = parser.parse_args()
    if ROOT in args.out.resolve().parents or args.out.resolve() == ROOT:
        raise SystemExit(f"{args.out}: batch files hold third-party text; write them outside the repository")
    args.out.mkdir(parents=True, exist_ok=True)
    batch, lines, count = args.first, [], 0

    def flush():
        nonlocal batch, lines, count
        if lines:
            (args.out / f"b{batch:02d}.tsv").write_text("".join(lines), encoding="utf-8")
            print(f"b{batch:02d}: {count} segments")
            batch, lines, count = batch + 1, [], 0

    pending = pending_articles(args.newsdiscourse_dir, args.basil_dir, args.seed, args.annotations)
    if not pending:
        print("every NewsDiscourse and BASIL article is annotated: no batch written")
    for doc_id, text in pending:
        segments = segment_text(text)
        if count and count + len(segments) > args.size * 1.15:
            flush()
        for i, sg in enumerate(segments):
            lines.append(f"{doc_id}\t{i}\t{' '.join(sg.text.split())}\n")
        lines.append("\n")
        count += len(segments)
        if count >= args.size:
            flush()
    flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
