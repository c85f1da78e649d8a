"""Inter-annotator agreement on the doubly annotated units.

    python annotation/agreement.py   # writes data/annotations/agreement.json, prints Markdown

For every batch with a first (p1) and an independent second (p2) pass in
data/annotations/raw/: Cohen's kappa, raw agreement and per-class F1 of one
annotator against the other (F1 is symmetric in which one is taken as
reference), plus how many first-pass labels the adjudication changed. The
written articles: the writer's labels against an independent second reader
(data/written/second_reader.tsv).
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sklearn.metrics import cohen_kappa_score, f1_score  # noqa: E402

from claimsort.labels import LABELS  # noqa: E402
from standoff import read_labels  # noqa: E402

RAW = ROOT / "data/annotations/raw"
# b15's second pass saw part of the first pass's labels after finishing two
# articles (a claim collision, reported by the annotator): reported separately.
NOT_BLIND = {"b15"}


def agreement(a: list[str], b: list[str]) -> dict:
    f1 = f1_score(a, b, labels=list(LABELS), average=None, zero_division=0)
    return {"segments": len(a), "raw_agreement": sum(x == y for x, y in zip(a, b)) / len(a),
            "cohen_kappa": cohen_kappa_score(a, b, labels=list(LABELS)),
            "macro_f1": float(f1.mean()), "per_class_f1": dict(zip(LABELS, map(float, f1)))}


def main():
    result = {"ptc_and_web": {}, "written": None}
    pooled = {"blind": ([], []), "all": ([], [])}
    for p2 in sorted(RAW.glob("b*.p2.tsv"), key=lambda p: int(p.name[1:].split(".")[0])):  # b03 before b101
        batch = p2.name.split(".")[0]
        first, second = read_labels(RAW / f"{batch}.p1.tsv"), read_labels(p2)
        keys = sorted(first)
        a, b = [first[k] for k in keys], [second[k] for k in keys]
        entry = agreement(a, b)
        adj = RAW / f"{batch}.adj.tsv"
        final = {**first, **(read_labels(adj) if adj.is_file() else {})}
        entry["adjudication_changed_first_pass"] = sum(final[k] != first[k] for k in keys)
        entry["blind"] = batch not in NOT_BLIND
        result["ptc_and_web"][batch] = entry
        for group in ("all",) + (("blind",) if entry["blind"] else ()):
            pooled[group][0].extend(a)
            pooled[group][1].extend(b)
    result["pooled_blind"] = agreement(*pooled["blind"])
    result["pooled_all"] = agreement(*pooled["all"])

    written = {}
    for line in (ROOT / "data/written/articles.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        written[(row["doc_id"], row["sent_id"])] = row["label"]
    # adjudication.tsv: doc_id, sent_id, final label, the writer's original label, reason
    for line in (ROOT / "data/written/adjudication.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc_id, sent_id, _final, writer_label, _reason = line.split("\t")
            written[(doc_id, int(sent_id))] = writer_label
    second = read_labels(ROOT / "data/written/second_reader.tsv")
    keys = sorted(second)
    writer = [written[k] for k in keys]
    result["written"] = agreement(writer, [second[k] for k in keys])
    (ROOT / "data/annotations/agreement.json").write_text(json.dumps(result, indent=2))

    print("| units | segments | raw agreement | Cohen's kappa | macro-F1 | " + " | ".join(f"F1 {l}" for l in LABELS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(LABELS))
    rows = [(f"{k}{'' if v['blind'] else ' (not fully blind)'}", v) for k, v in result["ptc_and_web"].items()]
    rows += [("pooled, blind units", result["pooled_blind"]), ("pooled, all units", result["pooled_all"]),
             ("written: writer vs second reader", result["written"])]
    for name, v in rows:
        print(f"| {name} | {v['segments']} | {v['raw_agreement']:.3f} | {v['cohen_kappa']:.3f} | {v['macro_f1']:.3f} | "
              + " | ".join(f"{v['per_class_f1'][l]:.3f}" for l in LABELS) + " |")


if __name__ == "__main__":
    main()
