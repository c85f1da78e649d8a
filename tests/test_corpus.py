import hashlib
import json

import pytest
from conftest import ROOT

from claimsort.corpus import CorpusPaths, build_corpus, build_ptc, check_splits, read_segment_table
from claimsort.io.errors import InputError
from claimsort.labels import LABELS

GOOD = {"doc_id": "d1", "sent_id": 0, "text": "The ministry said so.", "label": "official_claim"}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(**kw):
    return json.dumps({**GOOD, **kw})


def test_reads_a_valid_table_and_keeps_extra_keys(tmp_path):
    path = write_lines(tmp_path / "t.jsonl", [row(outlet="X"), row(sent_id=1, label="boilerplate")])
    ds = read_segment_table(path, require_label=True)
    assert len(ds) == 2
    assert ds[0]["outlet"] == "X"
    assert ds[1]["label"] == "boilerplate"


@pytest.mark.parametrize("lines, message", [
    ([row(), row(sent_id=1, label="propaganda")], "t.jsonl:2: unknown label 'propaganda'"),
    ([row(), json.dumps({"doc_id": "d1", "sent_id": 1, "label": "boilerplate"})], "t.jsonl:2: missing field 'text'"),
    ([json.dumps({"sent_id": 0, "text": "x"})], "t.jsonl:1: missing field 'doc_id'"),
    ([row(), row(sent_id=1, text="   ")], "t.jsonl:2: empty text"),
    ([row(), row()], "t.jsonl:2: duplicate (doc_id, sent_id) ('d1', 0)"),
    ([row(), '{"doc_id": "d1", "sent_id": 1, "text": "x"'], "t.jsonl:2: bad JSON"),
    ([row(), "[1, 2]"], "t.jsonl:2: expected a JSON object"),
    ([row(sent_id="0")], "t.jsonl:1: 'sent_id' must be an integer"),
    ([row(), row(doc_id="d2"), row(sent_id=5)], "t.jsonl:3: segments of document 'd1' are not consecutive"),
    ([row(sent_id=3), row(sent_id=1)], "t.jsonl:2: sent_id 1 comes after 3"),
])
def test_bad_input_names_file_and_line(tmp_path, lines, message):
    path = write_lines(tmp_path / "t.jsonl", lines)
    with pytest.raises(InputError) as err:
        read_segment_table(path, require_label=True)
    assert message in str(err.value)


def test_label_is_optional_for_unlabelled_input_only(tmp_path):
    path = write_lines(tmp_path / "t.jsonl", [json.dumps({"doc_id": "a", "sent_id": 0, "text": "x"})])
    assert read_segment_table(path)[0]["text"] == "x"
    with pytest.raises(InputError, match="t.jsonl:1: missing field 'label'"):
        read_segment_table(path, require_label=True)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_segment_table(tmp_path / "nope.jsonl")


def test_shipped_written_corpus_is_valid_and_has_every_label():
    rows = read_segment_table(ROOT / "data/written/articles.jsonl", require_label=True)
    assert {r["label"] for r in rows} == set(LABELS)
    assert {r["split"] for r in rows} == {"train", "dev", "test"}
    check_splits(rows)


def _ptc_fixture(tmp_path, text="First sentence here. Second one.\nBy Someone\n"):
    src = tmp_path / "ptc" / "train-articles"
    src.mkdir(parents=True)
    (src / "article1.txt").write_text(text, encoding="utf-8")
    ann = tmp_path / "ptc.jsonl"
    ann.write_text(json.dumps({
        "doc_id": "ptc-1", "path": "train-articles/article1.txt",
        "sha256": hashlib.sha256(text.encode()).hexdigest(), "split": "train",
        "segments": [[0, 20, "reported_statement"], [21, 32, "reported_statement"], [33, 43, "boilerplate"]],
    }) + "\n")
    return tmp_path / "ptc", ann


def test_standoff_join_rebuilds_the_segments(tmp_path):
    ptc_dir, ann = _ptc_fixture(tmp_path)
    rows = build_ptc(ann, ptc_dir)
    assert [r["text"] for r in rows] == ["First sentence here.", "Second one.", "By Someone"]
    assert [r["label"] for r in rows] == ["reported_statement", "reported_statement", "boilerplate"]


def test_standoff_refuses_a_changed_text(tmp_path):
    ptc_dir, ann = _ptc_fixture(tmp_path)
    (ptc_dir / "train-articles" / "article1.txt").write_text("Something else entirely.\n")
    with pytest.raises(InputError, match="SHA-256 mismatch.*article1.txt"):
        build_ptc(ann, ptc_dir)


def test_standoff_names_missing_documents(tmp_path):
    ptc_dir, ann = _ptc_fixture(tmp_path)
    (ptc_dir / "train-articles" / "article1.txt").unlink()
    with pytest.raises(InputError, match="1 annotated documents are missing: train-articles/article1.txt"):
        build_ptc(ann, ptc_dir)


def test_given_but_missing_directory_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CLAIMSORT_PTC_DIR", str(tmp_path / "absent"))
    with pytest.raises(InputError, match="does not exist"):
        build_corpus(CorpusPaths())


def test_split_leakage_is_caught():
    base = {"label": "reported_statement", "sent_id": 0, "text": "An identical sentence of some length here."}
    with pytest.raises(InputError, match="split leakage"):
        check_splits([{**base, "doc_id": "a", "split": "train"}, {**base, "doc_id": "b", "split": "test"}])
    # boilerplate may repeat across splits
    check_splits([{**base, "label": "boilerplate", "doc_id": "a", "split": "train"},
                  {**base, "label": "boilerplate", "doc_id": "b", "split": "test"}])


def test_data_card_counts_match_the_stats_command(monkeypatch):
    """data/README.md shows the counts `claimsort data stats` prints
    (all sources when the third-party corpora are beside the checkout, as in CI)."""
    from claimsort.cli.data import stats_table

    monkeypatch.chdir(ROOT)
    card = (ROOT / "data/README.md").read_text()
    shared = ROOT.parent / "shared/corpora"
    if (shared / "ptc").is_dir() and (shared / "web-pages").is_dir():
        rows = build_corpus(CorpusPaths(ptc_dir=str(shared / "ptc"), web_pages_dir=str(shared / "web-pages")))
        assert stats_table(rows) in card
    else:
        rows = build_corpus(CorpusPaths())
        for line in stats_table(rows).splitlines()[2:]:
            if line.startswith("| written"):
                assert line in card


def test_corpus_meets_its_size_targets():
    """At least 250 PTC articles, 80 web pages, 150 written articles labelled,
    12,000 segments in all, every label at least 800 times (stand-off files)."""
    import collections

    docs = collections.Counter()
    labels = collections.Counter()
    for name, source in (("ptc.jsonl", "ptc"), ("web-pages.jsonl", "web")):
        for line in (ROOT / "data/annotations" / name).read_text().splitlines():
            rec = json.loads(line)
            docs[source] += 1
            labels.update(label for _, _, label in rec["segments"])
    written = read_segment_table(ROOT / "data/written/articles.jsonl", require_label=True)
    docs["written"] = len({r["doc_id"] for r in written})
    labels.update(r["label"] for r in written)
    assert docs["ptc"] >= 250 and docs["web"] >= 80 and docs["written"] >= 150
    assert sum(labels.values()) >= 12_000
    assert min(labels[label] for label in LABELS) >= 800


@pytest.mark.parametrize("path, outlet", [
    ("train/Politics/Xinhua_12.txt", "xinhua"),
    ("train/kbp/NYT_ENG_20101117.0179.txt", "nyt"),
    ("validation/BReuters_101.txt", "reuters"),
    ("validation/PXinhua_7.txt", "xinhua"),
    ("validation/nyt_corpus_data_2006_01_22_1733958.txt", "nyt"),
])
def test_newsdiscourse_ids_name_their_file_in_both_folder_layouts(path, outlet):
    from claimsort.corpus import newsdiscourse_doc_id, newsdiscourse_outlet, newsdiscourse_path

    doc_id = newsdiscourse_doc_id(path)
    assert newsdiscourse_path(doc_id) == path
    assert newsdiscourse_outlet(doc_id) == outlet


def test_newsdiscourse_outlet_refuses_an_unknown_file_name():
    from claimsort.corpus import newsdiscourse_outlet

    with pytest.raises(ValueError, match="nd-validation-Guardian_3"):
        newsdiscourse_outlet("nd-validation-Guardian_3")
