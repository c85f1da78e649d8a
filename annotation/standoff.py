"""Turn the annotators' label files into the committed stand-off annotations.

    python annotation/standoff.py --labels data/annotations/raw \
        --ptc-dir ../shared/corpora/ptc --web-pages-dir ../shared/corpora/web-pages \
        --newsdiscourse-dir ../shared/corpora/newsdiscourse --basil-dir ../shared/corpora/basil

Inputs: one TSV per annotated unit, `bNN.p1.tsv` (first pass), `bNN.p2.tsv`
(independent second pass) and `bNN.adj.tsv` (adjudication of the disagreements),
each line `doc_id, sent_id, label, note`. The final label of a segment is the
adjudicated one where a batch was annotated twice, else the first pass.

Outputs (no third-party text): data/annotations/ptc.jsonl and
data/annotations/web-pages.jsonl, one document per line with the SHA-256 of its
source, its split, and [start, end, label] per segment. Web-page segments
outside the ground-truth article body are `boilerplate` by derivation.
Also data/annotations/newsdiscourse.jsonl and basil.jsonl, whose offsets point
into the article text rendered from each file (claimsort.corpus.newsdiscourse_text,
basil_text).
Splits: the PTC dev articles are the test set; PTC train articles are split
85/15 into train/dev; web pages, NewsDiscourse and BASIL 70/15/15 (a BASIL event's
three articles in one split); all by document, fixed by seed. Then documents that
share text across sources are given one split (align_across_sources), and a
committed document's split never changes.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from claimsort.corpus import (assign_splits, basil_text, newsdiscourse_outlet, newsdiscourse_path,  # noqa: E402
                              newsdiscourse_text, sha256)
from claimsort.text.overlap import normalise  # noqa: E402
from claimsort.labels import LABELS  # noqa: E402
from claimsort.text.segmentation import segment_text  # noqa: E402
from claimsort.text.overlap import body_mask, page_headline, page_segments  # noqa: E402
from claimsort.io.files import read_page


def read_labels(path: Path) -> dict[tuple[str, int], str]:
    out = {}
    with path.open(encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 3 or row[2] not in LABELS:
                raise SystemExit(f"{path}:{lineno}: bad line {row!r}")
            out[(row[0], int(row[1]))] = row[2]
    return out


# Batches from b46 on were cut with letterless lines glued across lines (the
# segmentation every command uses); the earlier PTC batches without it.
FIRST_GLUED_BATCH = 46


def final_labels(label_dir: Path) -> tuple[dict[tuple[str, int], str], dict[str, int]]:
    """The final label of every annotated segment, and the batch number of each document."""
    labels: dict[tuple[str, int], str] = {}
    batch_of: dict[str, int] = {}
    for p1 in sorted(label_dir.glob("b*.p1.tsv")):
        batch = p1.name.split(".")[0]
        final = read_labels(p1)
        adj = label_dir / f"{batch}.adj.tsv"
        if adj.is_file():
            final.update(read_labels(adj))
        labels.update(final)
        for doc_id, _ in final:
            batch_of[doc_id] = int(batch[1:])
    return labels, batch_of


def rendered_records(by_doc: dict[str, dict[int, str]], prefix: str, find, render, outlet_of, group_of,
                     problems: list[str]) -> list[dict]:
    """Stand-off records of a corpus whose offsets point into a text rendered from its
    files (NewsDiscourse, BASIL), split 70/15/15 by group, fixed by seed."""
    records = []
    for doc_id in sorted(d for d in by_doc if d.startswith(prefix)):
        rel, path = find(doc_id)
        if path is None or not path.is_file():
            problems.append(f"{doc_id}: no source file")
            continue
        raw = path.read_text(encoding="utf-8")
        text = render(raw)
        segments = segment_text(text)
        if sorted(by_doc[doc_id]) != list(range(len(segments))):
            problems.append(f"{doc_id}: {len(by_doc[doc_id])} labels for {len(segments)} segments")
            continue
        records.append({
            "doc_id": doc_id, "path": rel, "sha256": sha256(raw), "text_sha256": sha256(text), "split": None,
            "outlet": outlet_of(doc_id, raw), "group": group_of(doc_id, raw),
            "segments": [[sg.start, sg.end, by_doc[doc_id][i]] for i, sg in enumerate(segments)],
            "_texts": [sg.text for i, sg in enumerate(segments) if by_doc[doc_id][i] != "boilerplate"],
        })
    # Documents of one group (a BASIL event told by three outlets) or sharing text share a split.
    roots = overlap_groups({r["doc_id"]: r["_texts"] for r in records}, group_links(records))
    split = grouped_splits([r["doc_id"] for r in records], roots, (0.7, 0.15, 0.15))
    for r in records:
        r["split"] = split[r["doc_id"]]
    return drop_unsplit(records, prefix)


def group_links(records: list[dict]) -> list[list[str]]:
    """The documents of each (source, group) pair, to be kept in one split."""
    members: dict[tuple[str, str], list[str]] = {}
    for r in records:
        if r.get("group"):
            members.setdefault((r["doc_id"].split("-", 1)[0], r["group"]), []).append(r["doc_id"])
    return list(members.values())


HELD_OUT_FIRST = ("test", "dev", "train")


def align_across_sources(records: list[dict]) -> list[tuple[str, str, str | None]]:
    """Give documents that share text across sources (a wire story in PTC and in
    NewsDiscourse) one split, after each source was split on its own. A new document
    joins the split of the committed documents of its group; where those disagree it
    is left out (None); a group with no committed document goes whole to its most
    held-out split. PTC's test split is PTC's own dev set, so a PTC train article is
    never moved into test: it is left out instead. Returns (doc_id, from, to) moves."""
    roots = overlap_groups({r["doc_id"]: r["_texts"] for r in records}, group_links(records))
    members: dict[str, list[dict]] = {}
    for r in records:
        members.setdefault(roots[r["doc_id"]], []).append(r)
    moves = []
    for group in members.values():
        splits = {r["split"] for r in group}
        if len(splits) == 1:
            continue
        committed = {FIXED_SPLITS[r["doc_id"]] for r in group if r["doc_id"] in FIXED_SPLITS}
        if len(committed) > 1:
            target = None
        elif committed:
            target = committed.pop()
        else:
            target = min(splits, key=HELD_OUT_FIRST.index)
        for r in group:
            if r["doc_id"] in FIXED_SPLITS or r["split"] == target:
                continue
            to = None if (target == "test" and r["doc_id"].startswith("ptc-")) else target
            moves.append((r["doc_id"], r["split"], to))
            r["split"] = to
    return moves


def overlap_groups(docs: dict[str, list[str]], links: list[list[str]] = ()) -> dict[str, str]:
    """Union-find over documents that share a normalised segment of 20+ characters
    (PTC has the same story from several outlets), plus the given links (documents
    that belong together, e.g. a BASIL event): each doc -> its group's root."""
    parent = {d: d for d in docs}

    def find(d):
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for linked in links:
        for d in linked[1:]:
            parent[find(d)] = find(linked[0])

    first_doc: dict[str, str] = {}
    for doc_id, texts in docs.items():
        for text in texts:
            key = normalise(text)
            if len(key) < 20:
                continue
            other = first_doc.setdefault(key, doc_id)
            if other != doc_id:
                parent[find(doc_id)] = find(other)
    return {d: find(d) for d in docs}


# Splits already published stay as they are: every document of the committed
# stand-off files keeps its split; a document annotated later joins the split of a
# published document it overlaps, else its group is split anew (seeded, over the
# new groups only, so that adding documents never moves a published one).
FIXED_SPLITS: dict[str, str] = {}


def grouped_splits(doc_ids: list[str], groups: dict[str, str], fractions) -> dict[str, str]:
    """Document splits where all documents of an overlap group share one split; the
    committed split of a document (FIXED_SPLITS) never changes."""
    fixed: dict[str, set[str]] = {}
    for d in doc_ids:
        if d in FIXED_SPLITS:
            fixed.setdefault(groups[d], set()).add(FIXED_SPLITS[d])
    new_roots = sorted({groups[d] for d in doc_ids} - set(fixed))
    root_split = assign_splits(new_roots, fractions=fractions)
    out = {}
    for d in doc_ids:
        if d in FIXED_SPLITS:
            out[d] = FIXED_SPLITS[d]
        elif groups[d] in fixed:
            # A new document that shares text with committed documents of two splits
            # would leak one into the other: it is left out (None).
            out[d] = next(iter(fixed[groups[d]])) if len(fixed[groups[d]]) == 1 else None
        else:
            out[d] = root_split[groups[d]]
    return out


def drop_unsplit(records: list[dict], what: str) -> list[dict]:
    left_out = [r["doc_id"] for r in records if r["split"] is None]
    if left_out:
        print(f"{what} documents left out for sharing text with committed documents of two splits: "
              + ", ".join(left_out))
    return [r for r in records if r["split"] is not None]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=ROOT / "data/annotations/raw")
    parser.add_argument("--ptc-dir", type=Path, required=True)
    parser.add_argument("--web-pages-dir", type=Path, required=True)
    parser.add_argument("--newsdiscourse-dir", type=Path, required=True)
    parser.add_argument("--basil-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "data/annotations")
    args = parser.parse_args(argv)

    labels, batch_of = final_labels(args.labels)
    for name in ("ptc.jsonl", "web-pages.jsonl", "newsdiscourse.jsonl", "basil.jsonl"):
        if (args.out / name).is_file():
            for line in (args.out / name).read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                FIXED_SPLITS[rec["doc_id"]] = rec["split"]
    by_doc: dict[str, dict[int, str]] = {}
    for (doc_id, sent_id), label in labels.items():
        by_doc.setdefault(doc_id, {})[sent_id] = label

    ptc_ids = sorted(d for d in by_doc if d.startswith("ptc-"))
    ptc_records, problems = [], []
    for doc_id in ptc_ids:
        number = doc_id[4:]
        rel = next((f"{sub}/article{number}.txt" for sub in ("dev-articles", "train-articles")
                    if (args.ptc_dir / sub / f"article{number}.txt").is_file()), None)
        if rel is None:
            problems.append(f"{doc_id}: no source file")
            continue
        text = (args.ptc_dir / rel).read_text(encoding="utf-8")
        # The PTC batches were cut before letterless lines were glued across
        # lines: read the labels by that cut, then keep the label of the segment
        # each glued piece now belongs to.
        annotated = segment_text(text, glue_across_lines=batch_of[doc_id] >= FIRST_GLUED_BATCH)
        segments = segment_text(text)
        if sorted(by_doc[doc_id]) != list(range(len(annotated))):
            problems.append(f"{doc_id}: {len(by_doc[doc_id])} labels for {len(annotated)} segments")
            continue
        label_at = {s.start: by_doc[doc_id][i] for i, s in enumerate(annotated)}
        doc_labels = {i: label_at[s.start] for i, s in enumerate(segments)}
        ptc_records.append({
            "doc_id": doc_id, "path": rel, "sha256": sha256(text),
            "split": "test" if rel.startswith("dev-") else None, "outlet": "ptc",
            "segments": [[s.start, s.end, doc_labels[i]] for i, s in enumerate(segments)],
            "_texts": [text[s.start:s.end] for s, lab in zip(segments, (doc_labels[i] for i in range(len(segments))))
                       if lab != "boilerplate"],
        })
    # PTC has near-duplicate articles. A train article that shares a segment with a
    # test (PTC dev) article is left out; overlapping train articles share a split.
    groups = overlap_groups({r["doc_id"]: r["_texts"] for r in ptc_records})
    test_roots = {groups[r["doc_id"]] for r in ptc_records if r["split"] == "test"}
    excluded = [r["doc_id"] for r in ptc_records if r["split"] is None and groups[r["doc_id"]] in test_roots]
    ptc_records = [r for r in ptc_records if r["doc_id"] not in excluded]
    train_split = grouped_splits([r["doc_id"] for r in ptc_records if r["split"] is None], groups, (0.85, 0.15, 0.0))
    for r in ptc_records:
        r["split"] = r["split"] or train_split[r["doc_id"]]
    ptc_records = drop_unsplit(ptc_records, "PTC")
    if excluded:
        print(f"PTC train articles left out for overlapping a test article: {', '.join(excluded)}")

    truth = json.loads((args.web_pages_dir / "ground-truth.json").read_text(encoding="utf-8"))
    web_ids = sorted(d for d in by_doc if d.startswith("web-"))
    web_records = []
    for doc_id in web_ids:
        page_id = next((p for p in truth if p.startswith(doc_id[4:])), None)
        if page_id is None:
            problems.append(f"{doc_id}: not in ground-truth.json")
            continue
        html = read_page(args.web_pages_dir / "html" / f"{page_id}.html.gz")
        text, segments = page_segments(html)
        mask = body_mask(segments, truth[page_id]["articleBody"], page_headline(html))
        body_ids = [i for i, m in enumerate(mask) if m]
        doc_labels = by_doc[doc_id]
        if sorted(doc_labels) != body_ids:
            problems.append(f"{doc_id}: labels do not match the body segments")
            continue
        host = truth[page_id].get("url", "").split("/")[2] if "//" in truth[page_id].get("url", "") else "web"
        web_records.append({
            "doc_id": doc_id, "path": f"html/{page_id}.html.gz", "sha256": sha256(html),
            "text_sha256": sha256(text), "split": None, "outlet": host,
            "segments": [[s.start, s.end, doc_labels.get(i, "boilerplate")] for i, s in enumerate(segments)],
            "_texts": [segments[i].text for i in body_ids if doc_labels[i] != "boilerplate"],
        })
    groups = overlap_groups({r["doc_id"]: r["_texts"] for r in web_records})
    web_split = grouped_splits([r["doc_id"] for r in web_records], groups, (0.7, 0.15, 0.15))
    for r in web_records:
        r["split"] = web_split[r["doc_id"]]
    web_records = drop_unsplit(web_records, "web")

    def nd_find(doc_id):
        rel = newsdiscourse_path(doc_id)
        return rel, args.newsdiscourse_dir / rel

    nd_records = rendered_records(by_doc, "nd-", nd_find, newsdiscourse_text,
                                  lambda d, raw: newsdiscourse_outlet(d),
                                  lambda d, raw: d, problems)
    basil_files = {p.stem: p for p in args.basil_dir.glob("articles/*/*.json")}

    def basil_find(doc_id):
        path = basil_files.get(doc_id[len("basil-"):])
        return (str(path.relative_to(args.basil_dir)) if path else None), path

    basil_records = rendered_records(by_doc, "basil-", basil_find, basil_text,
                                     lambda d, raw: json.loads(raw)["source"].lower(),
                                     lambda d, raw: json.loads(raw)["triplet-uuid"], problems)

    sources = (("ptc.jsonl", ptc_records), ("web-pages.jsonl", web_records),
               ("newsdiscourse.jsonl", nd_records), ("basil.jsonl", basil_records))
    for doc_id, was, now in align_across_sources([r for _, records in sources for r in records]):
        print(f"{doc_id}: {was} -> {now or 'left out'} (shares text with a document of another source)")
    sources = tuple((name, drop_unsplit(records, name)) for name, records in sources)
    ptc_records, web_records, nd_records, basil_records = (records for _, records in sources)

    args.out.mkdir(parents=True, exist_ok=True)
    for name, records in (("ptc.jsonl", ptc_records), ("web-pages.jsonl", web_records),
                          ("newsdiscourse.jsonl", nd_records), ("basil.jsonl", basil_records)):
        with (args.out / name).open("w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps({k: v for k, v in rec.items() if k != "_texts"}) + "\n")
    print(f"PTC: {len(ptc_records)} documents, {sum(len(r['segments']) for r in ptc_records)} segments")
    print(f"web: {len(web_records)} pages, {sum(len(r['segments']) for r in web_records)} segments")
    for what, records in (("newsdiscourse", nd_records), ("basil", basil_records)):
        print(f"{what}: {len(records)} articles, {sum(len(r['segments']) for r in records)} segments")
    for p in problems:
        print("problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
