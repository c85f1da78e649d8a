"""annotation/make_batches.py: batches of whole, not yet annotated articles, cut as the stand-off builder cuts them."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"

pytestmark = pytest.mark.skipif(not (CORPORA / "newsdiscourse").is_dir() or not (CORPORA / "basil").is_dir(),
                                reason="needs ../shared/corpora/newsdiscourse and basil")


def withheld_annotations(tmp_path) -> tuple[Path, set[str]]:
    """A copy of the stand-off files without a few articles (one BASIL event, five
    NewsDiscourse articles), which then count as not yet annotated."""
    folder = tmp_path / "annotations"
    folder.mkdir()
    withheld = set()
    for name, keep in (("newsdiscourse.jsonl", lambda i, rec: i >= 5),
                       ("basil.jsonl", lambda i, rec: rec["group"] != first_event)):
        lines = (ROOT / "data/annotations" / name).read_text(encoding="utf-8").splitlines()
        first_event = json.loads(lines[0]).get("group")
        kept = []
        for i, line in enumerate(lines):
            rec = json.loads(line)
            (kept.append(line) if keep(i, rec) else withheld.add(rec["doc_id"]))
        (folder / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    return folder, withheld


def test_batches_hold_whole_unannotated_articles(tmp_path):
    annotations, withheld = withheld_annotations(tmp_path)
    out = tmp_path / "batches"
    subprocess.run([sys.executable, str(ROOT / "annotation/make_batches.py"),
                    "--newsdiscourse-dir", str(CORPORA / "newsdiscourse"), "--basil-dir", str(CORPORA / "basil"),
                    "--annotations", str(annotations),
                    "--out", str(out), "--first", "500", "--size", "100"], check=True, capture_output=True)
    files = sorted(out.glob("b*.tsv"))
    assert files and files[0].name == "b500.tsv"
    seen = {}
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line:
                continue
            doc_id, sent_id, text = line.split("\t")
            assert doc_id in withheld and text.strip()
            assert seen.setdefault(doc_id, (f.name, -1))[0] == f.name, f"{doc_id} cut across batches"
            assert int(sent_id) == seen[doc_id][1] + 1  # every segment, in reading order
            seen[doc_id] = (f.name, int(sent_id))
    # Every withheld article is batched whole: as many segments as its stand-off record.
    records = {}
    for name in ("newsdiscourse.jsonl", "basil.jsonl"):
        for line in (ROOT / "data/annotations" / name).open():
            rec = json.loads(line)
            records[rec["doc_id"]] = len(rec["segments"])
    assert {d: n + 1 for d, (_, n) in seen.items()} == {d: records[d] for d in withheld}


def test_nothing_pending_writes_no_batch(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "annotation/make_batches.py"),
                             "--newsdiscourse-dir", str(CORPORA / "newsdiscourse"), "--basil-dir",
                             str(CORPORA / "basil"), "--out", str(tmp_path / "b"), "--first", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no batch written" in result.stdout and not list((tmp_path / "b").glob("*.tsv"))


def test_refuses_to_write_into_the_repository():
    result = subprocess.run([sys.executable, str(ROOT / "annotation/make_batches.py"),
                             "--newsdiscourse-dir", str(CORPORA / "newsdiscourse"), "--basil-dir",
                             str(CORPORA / "basil"), "--out", str(ROOT / "tmp-batches"), "--first", "1"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "outside the repository" in result.stderr
    assert not (ROOT / "tmp-batches").exists()
