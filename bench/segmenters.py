"""Compare sentence segmenters on the hand-made boundary gold and on speed.

    python bench/segmenters.py [--ptc-dir ../shared/corpora/ptc]

Gold: tests/fixtures/sentence_gold.txt (one paragraph per line, " || " marks a
boundary). Exact-sentence precision/recall/F1 over the gold sentences; speed in
sentences/s over the PTC train articles when the directory is present.
"""
import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]



def load_splitters():
    splitters = {}
    import pysbd
    seg = pysbd.Segmenter(language="en", clean=False)
    splitters["pysbd"] = lambda t: [s.strip() for s in seg.segment(t) if s.strip()]

    from syntok import segmenter as syntok_segmenter

    def syntok_split(text):
        out = []
        for paragraph in syntok_segmenter.analyze(text):
            for sentence in paragraph:
                start = sentence[0].offset
                end = sentence[-1].offset + len(sentence[-1].value)
                out.append(text[start:end].strip())
        return [s for s in out if s]
    splitters["syntok"] = syntok_split

    import blingfire
    splitters["blingfire"] = lambda t: [s.strip() for s in blingfire.text_to_sentences(t).split("\n") if s.strip()]
    try:
        import spacy
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        splitters["spacy-sentencizer"] = lambda t: [s.text.strip() for s in nlp(t).sents if s.text.strip()]
    except ImportError:
        pass
    return splitters


def read_gold():
    paragraphs = []
    for line in (ROOT / "tests/fixtures/sentence_gold.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            paragraphs.append([s.strip() for s in line.split(" || ")])
    return paragraphs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptc-dir", default=str(ROOT.parent / "shared/corpora/ptc"))
    args = parser.parse_args()
    gold = read_gold()
    texts = []
    ptc = Path(args.ptc_dir) / "train-articles"
    if ptc.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(ptc.glob("*.txt"))]
    rows = []
    for name, split in load_splitters().items():
        tp = n_pred = n_gold = 0
        for sentences in gold:
            predicted = split(" ".join(sentences))
            n_pred += len(predicted)
            n_gold += len(sentences)
            tp += len(set(predicted) & set(sentences))
        p, r = tp / n_pred, tp / n_gold
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        speed = float("nan")
        if texts:
            start = time.perf_counter()
            n = sum(len(split(line)) for t in texts for line in t.splitlines() if line.strip())
            speed = n / (time.perf_counter() - start)
        rows.append((name, p, r, f1, speed))
    print("| segmenter | precision | recall | F1 (exact sentences) | sentences/s (PTC train, 1 core) |")
    print("|---|---|---|---|---|")
    for name, p, r, f1, speed in rows:
        print(f"| {name} | {p:.3f} | {r:.3f} | {f1:.3f} | {speed:,.0f} |")


if __name__ == "__main__":
    main()
