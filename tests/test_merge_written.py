"""annotation/merge_written.py: new written articles join the published table; published ones never change."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "annotation/merge_written.py"


def row(doc_id, sent_id, text, label, **extra):
    return {"doc_id": doc_id, "sent_id": sent_id, "text": text, "label": label, "outlet": "Test Wire",
            "genre": "wire", "topic": "tests", **extra}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def run(tmp_path, parts: dict[str, list[dict]], adjudication: str = ""):
    table = tmp_path / "articles.jsonl"
    write_jsonl(table, [row("w-old", 0, "Old Wire", "boilerplate", source="written", split="test"),
                        row("w-old", 1, "The mayor said the bridge would reopen.", "official_claim",
                            source="written", split="test")])
    folder = tmp_path / "parts"
    folder.mkdir()
    for name, rows in parts.items():
        write_jsonl(folder / name, rows)
    (tmp_path / "adj.tsv").write_text(adjudication, encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), "--table", str(table), "--parts", str(folder),
                             "--adjudication", str(tmp_path / "adj.tsv")], capture_output=True, text=True)
    rows = [json.loads(line) for line in table.read_text(encoding="utf-8").splitlines()]
    return result, rows


def test_new_articles_are_added_and_published_ones_kept(tmp_path):
    part = [row("w-old", 0, "A rewritten masthead", "boilerplate"),  # already published: skipped
            row("w-new", 5, "Police said two men were arrested.", "official_claim"),  # gap in sent_id
            row("w-new", 2, "Metro Test", "boilerplate"),
            row("w-two", 0, "Residents said the water smelled odd.", "reported_statement")]
    result, rows = run(tmp_path, {"a.jsonl": part}, adjudication="w-new\t1\treported_statement\tofficial_claim\tx\n")
    assert result.returncode == 0, result.stderr
    assert "3 articles (2 new), 5 segments" in result.stdout
    old = [r for r in rows if r["doc_id"] == "w-old"]
    assert [r["text"] for r in old] == ["Old Wire", "The mayor said the bridge would reopen."]
    assert {r["split"] for r in old} == {"test"}
    new = [r for r in rows if r["doc_id"] == "w-new"]
    assert [(r["sent_id"], r["text"]) for r in new] == [(0, "Metro Test"), (1, "Police said two men were arrested.")]
    assert new[1]["label"] == "reported_statement"  # the adjudicated label replaces the writer's
    assert all(r["source"] == "written" and r["split"] in ("train", "dev", "test") for r in rows)


def test_a_bad_label_names_its_file_and_line(tmp_path):
    part = [row("w-new", 0, "Metro Test", "boilerplate"), row("w-new", 1, "A sentence.", "opinion")]
    result, rows = run(tmp_path, {"a.jsonl": part})
    assert result.returncode == 2
    assert "a.jsonl:2" in result.stderr and "Traceback" not in result.stderr
    assert len(rows) == 2  # the published table is left as it was


def test_one_article_in_two_parts_is_refused(tmp_path):
    result, _ = run(tmp_path, {"a.jsonl": [row("w-new", 0, "One", "boilerplate")],
                               "b.jsonl": [row("w-new", 1, "Two", "boilerplate")]})
    assert result.returncode == 2
    assert "b.jsonl:1" in result.stderr and "also written in" in result.stderr
