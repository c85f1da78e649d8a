"""annotation/standoff.py: documents that share text, within or across sources, end up in one split."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def standoff(monkeypatch):
    spec = importlib.util.spec_from_file_location("standoff", ROOT / "annotation/standoff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "FIXED_SPLITS", {})
    return module


WIRE = "The ministry said on Tuesday that the border crossing would reopen next week."


def record(doc_id, split, texts, group=None):
    return {"doc_id": doc_id, "split": split, "_texts": texts, "group": group}


def test_new_document_joins_the_split_of_the_committed_one_it_overlaps(standoff):
    standoff.FIXED_SPLITS["ptc-1"] = "test"
    records = [record("ptc-1", "test", [WIRE]), record("nd-x", "train", [WIRE, "Another sentence of its own here."])]
    moves = standoff.align_across_sources(records)
    assert moves == [("nd-x", "train", "test")]
    assert [r["split"] for r in records] == ["test", "test"]


def test_a_moved_document_takes_its_event_with_it(standoff):
    standoff.FIXED_SPLITS["ptc-1"] = "dev"
    records = [record("ptc-1", "dev", [WIRE]),
               record("basil-a", "train", [WIRE], group="event-1"),
               record("basil-b", "train", ["A different telling of the same event, by another outlet."], group="event-1"),
               record("basil-c", "train", ["An unrelated story that stays where it was put."], group="event-2")]
    standoff.align_across_sources(records)
    assert [r["split"] for r in records] == ["dev", "dev", "dev", "train"]


def test_uncommitted_group_goes_to_its_most_held_out_split(standoff):
    records = [record("web-a", "train", [WIRE]), record("nd-b", "test", [WIRE]), record("basil-c", "dev", [WIRE])]
    standoff.align_across_sources(records)
    assert {r["split"] for r in records} == {"test"}


def test_overlap_with_committed_documents_of_two_splits_is_left_out(standoff):
    standoff.FIXED_SPLITS.update({"ptc-1": "test", "web-2": "train"})
    other = "A second shared sentence that links the new article to the web page."
    records = [record("ptc-1", "test", [WIRE]), record("web-2", "train", [other]),
               record("nd-3", "dev", [WIRE, other])]
    moves = standoff.align_across_sources(records)
    assert moves == [("nd-3", "dev", None)]
    assert [r["doc_id"] for r in standoff.drop_unsplit(records, "test")] == ["ptc-1", "web-2"]


def test_a_ptc_train_article_is_never_moved_into_test(standoff):
    standoff.FIXED_SPLITS["nd-1"] = "test"
    records = [record("nd-1", "test", [WIRE]), record("ptc-9", "train", [WIRE])]
    assert standoff.align_across_sources(records) == [("ptc-9", "train", None)]


def test_short_shared_lines_do_not_link_documents(standoff):
    records = [record("web-a", "train", ["Read more"]), record("nd-b", "test", ["Read more"])]
    assert standoff.align_across_sources(records) == []
