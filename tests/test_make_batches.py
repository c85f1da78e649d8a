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


def test_batches_hold_whole_unannotated_articles(tmp_path):
    out = tmp_path / "batches"
    subprocess.run([sys.executable, str(ROOT / "annotation/make_batches.py"),
                    "--newsdiscourse-dir", str(CORPORA / "newsdiscourse"), "--basil-dir", str(CORPORA / "basil"),
                    "--out", str(out), "--first", "500", "--size", "300"], check=True, capture_output=True)
    files = sorted(out.glob("b*.tsv"))
    assert files and files[0].name == "b500.tsv"
    done = set()
    for name in ("newsdiscourse.jsonl", "basil.jsonl"):
        done.update(json.loads(line)["doc_id"] for line in (ROOT / "data/annotations" / name).open())
    seen = {}
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line:
                continue
            doc_id, sent_id, text = line.split("\t")
            assert doc_id not in done and text.strip()
            assert seen.setdefault(doc_id, (f.name, -1))[0] == f.name, f"{doc_id} cut across batches"
            assert int(sent_id) == seen[doc_id][1] + 1  # every segment, in reading order
            seen[doc_id] = (f.name, int(sent_id))


def test_refuses_to_write_into_the_repository():
    result = subprocess.run([sys.executable, str(ROOT / "annotation/make_batches.py"),
                             "--newsdiscourse-dir", str(CORPORA / "newsdiscourse"), "--basil-dir",
                             str(CORPORA / "basil"), "--out", str(ROOT / "tmp-batches"), "--first", "1"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "outside the repository" in result.stderr
    assert not (ROOT / "tmp-batches").exists()
