"""The document model: windows and their merge, head-and-tail truncation, the
Hugging Face contract (AutoModel, safetensors, config.json, the registered
pipeline), backends, and that a segment's label depends on its neighbours."""
import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, read_jsonl

from claimsort.modeling.document import owners, position_features, tokenize_segments, windows
from claimsort.labels import LABELS


@pytest.mark.parametrize("n,window,stride", [(1, 4, 2), (4, 4, 2), (5, 4, 2), (11, 4, 2), (100, 32, 16), (33, 32, 16)])
def test_windows_cover_every_segment_and_each_segment_has_one_owner(n, window, stride):
    spans = windows(n, window, stride)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(end - start == min(window, n) for start, end in spans)
    assert all(b[0] - a[0] <= stride for a, b in zip(spans, spans[1:]))  # consecutive windows overlap
    owner = owners(n, spans)
    for i in range(n):
        start, end = spans[owner[i]]
        assert start <= i < end
        # no other window holding i puts it farther from an inner edge
        def margin(span):
            s, e = span
            return min(float("inf") if s == 0 else i - s, float("inf") if e == n else e - 1 - i)
        assert margin(spans[owner[i]]) == max(margin(s) for s in spans if s[0] <= i < s[1])


def test_a_segment_is_never_judged_at_an_inner_window_edge():
    n, window, stride = 200, 32, 16
    spans = windows(n, window, stride)
    owner = owners(n, spans)
    for i in range(n):
        start, end = spans[owner[i]]
        assert (start == 0 or i - start >= (window - stride) // 2 - 1) and (end == n or end - 1 - i >= (window - stride) // 2 - 1)


def test_position_features_mark_the_ends():
    p = position_features(5)
    assert p.shape == (5, 6) and p[0, 1] == 1 and p[-1, 2] == 1 and p[2, 0] == 0.5


def test_long_segments_keep_head_and_tail(tiny_document_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_document_model)
    text = "Opening words here " + "filler " * 200 + "it does not seem like closing verdict"
    ids = tokenize_segments(tokenizer, [text, "Short one."], max_length=32, head_tokens=16)
    assert len(ids[0]) == 32 and ids[0][0] == tokenizer.cls_token_id and ids[0][-1] == tokenizer.sep_token_id
    decoded = tokenizer.decode(ids[0], skip_special_tokens=True)
    assert decoded.startswith("opening words here") and decoded.endswith("it does not seem like closing verdict")
    assert ids[1] == tokenizer("Short one.")["input_ids"]


def test_folder_loads_with_automodel_after_import_and_holds_the_contract(tiny_document_model):
    import claimsort  # noqa: F401  (registers the model type)
    from transformers import AutoConfig, AutoModel

    from claimsort.modeling.document import DocumentClassifierModel

    model = AutoModel.from_pretrained(tiny_document_model)
    assert isinstance(model, DocumentClassifierModel)
    config = json.loads((tiny_document_model / "config.json").read_text())
    assert config["model_type"] == "claimsort-document"
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    for key in ("window", "stride", "max_segment_tokens", "head_tokens", "pooling", "position_features", "encoder"):
        assert key in config
    assert AutoConfig.from_pretrained(tiny_document_model).window == 4
    assert (tiny_document_model / "model.safetensors").is_file()
    assert not list(tiny_document_model.glob("*.bin")) and not list(tiny_document_model.glob("*.pkl"))


def _article(n: int) -> list[dict]:
    sentences = ["The ministry said 40 homes were rebuilt.", "Critics called the claim absurd.",
                 "Share this article", "Residents said the water was back.", "Copyright 2024 Example News"]
    return [{"sent_id": i, "text": f"{sentences[i % 5]} ({i})"} for i in range(n)]


def test_labels_depend_on_neighbours_within_the_window_only(tiny_document_model):
    from claimsort.modeling.document import DocumentClassifier

    clf = DocumentClassifier.load(tiny_document_model)
    doc = _article(12)
    base = clf.predict_proba([doc])
    changed = [dict(r) for r in doc]
    changed[6]["text"] = "An entirely different sentence about something else."
    after = clf.predict_proba([changed])
    assert not np.allclose(base[5], after[5]), "a neighbour in the same window changes the label probabilities"
    assert np.allclose(base[0], after[0]) and np.allclose(base[11], after[11]), \
        "a segment windows away is not affected"


def test_predictions_do_not_depend_on_the_batch(tiny_document_model):
    from claimsort.modeling.document import DocumentClassifier

    clf = DocumentClassifier.load(tiny_document_model)
    a, b = _article(9), _article(3)
    together = clf.predict_proba([a, b], batch_size=4)
    assert np.allclose(together[:9], clf.predict_proba([a], batch_size=32), atol=1e-5)
    assert np.allclose(together[9:], clf.predict_proba([b]), atol=1e-5)


def test_onnx_backends_agree_with_torch(tiny_document_model, tmp_path):
    import shutil

    from claimsort.modeling.loading import load_classifier

    folder = tmp_path / "m"
    shutil.copytree(tiny_document_model, folder)
    docs = [_article(9), _article(4)]
    torch_p = load_classifier(folder, backend="torch").predict_proba(docs)
    onnx_p = load_classifier(folder, backend="onnx").predict_proba(docs)
    assert np.abs(torch_p - onnx_p).max() < 1e-4
    int8 = load_classifier(folder, backend="onnx", fast="int8").predict_proba(docs)
    assert int8.shape == torch_p.shape and np.allclose(int8.sum(1), 1, atol=1e-4)
    assert list((folder / "onnx").glob("vectors-fp32-*.onnx")) and list((folder / "onnx").glob("vectors-int8-*.onnx"))


@pytest.mark.parametrize("folder_fixture", ["tiny_document_model", "lexical_document_model"])
def test_registered_pipeline_labels_a_whole_article_as_predict_does(folder_fixture, request, tmp_path):
    import claimsort  # noqa: F401
    from transformers import pipeline

    tiny_document_model = request.getfixturevalue(folder_fixture)

    article = "# Minister denies report\n\nThe minister said the report was false. Critics disagreed.\n\n" \
              "Share this article\n"
    (tmp_path / "a.md").write_text(article)
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), str(tmp_path / "a.md"), "--model",
                           str(tiny_document_model), "--out", str(tmp_path / "p.jsonl"), "--backend", "torch"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = read_jsonl(tmp_path / "p.jsonl")
    classify = pipeline("claimsort-document", model=str(tiny_document_model))
    got = classify(article)  # format "auto" finds the Markdown heading
    assert [g["text"] for g in got] == [e["text"] for e in expected] == \
        ["Minister denies report", "The minister said the report was false.", "Critics disagreed.", "Share this article"]
    for g, e in zip(got, expected):
        assert g["label"] == e["label"] and set(g["probabilities"]) == set(LABELS)
        assert abs(g["probabilities"]["boilerplate"] - e["p_boilerplate"]) < 1e-4
    html = "<html><body><h1>Minister denies report</h1><p>The minister said the report was false.</p></body></html>"
    assert [g["text"] for g in classify(html)] == ["Minister denies report", "The minister said the report was false."]
    with pytest.raises(ValueError, match="format 'pdf'"):
        classify("x", format="pdf")


# --------------------------------------------------------------------------- #
# Lexical features (model.lexical_features)
# --------------------------------------------------------------------------- #
def _lexical_rows() -> list[dict]:
    """Eight articles; each has its own made-up word, in both of its segments, with
    the article's label: only a model that saw the article knows the word."""
    rows = []
    for d in range(8):
        for s in range(2):
            rows.append({"doc_id": f"doc{d}", "sent_id": s, "text": f"zq{d}x filler words here",
                         "label": LABELS[d % len(LABELS)]})
    return rows


def test_lexical_inputs_of_training_rows_come_from_models_that_never_saw_their_article():
    from claimsort.modeling.document import fit_lexical, lexical_inputs

    rows = _lexical_rows()
    full, oof = fit_lexical(rows, seed=0, folds=4)
    seen = lexical_inputs(full.predict_proba([rows]))
    gold = [LABELS.index(r["label"]) for r in rows]
    assert (seen.argmax(1) == gold).all(), "the model fitted on all rows knows each article's word"
    assert oof.shape == (len(rows), len(LABELS))
    assert (oof.argmax(1) != gold).mean() > 0.5, "out of fold, an article's own word is unknown"


@pytest.fixture(scope="module")
def lexical_document_model(tmp_path_factory) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig

    from claimsort.modeling.base_models import resolve_base_model
    from claimsort.modeling.document import (LEXICAL_FOLDER, DocumentClassifierConfig, DocumentClassifierModel,
                                             fit_lexical)

    folder = tmp_path_factory.mktemp("model") / "lexical-document"
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("all-MiniLM-L6-v2"))
    encoder = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    model = DocumentClassifierModel(DocumentClassifierConfig(
        encoder=encoder.to_dict(), sequence_hidden=16, window=4, stride=2, max_segment_tokens=32, head_tokens=16,
        lexical_features=True))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    fit_lexical(_lexical_rows(), seed=0, folds=4)[0].save(folder / LEXICAL_FOLDER)
    return folder


def test_a_lexical_model_reads_its_word_model(lexical_document_model):
    from claimsort.modeling.document import DocumentClassifier

    clf = DocumentClassifier.load(lexical_document_model)
    doc = [{"sent_id": i, "text": t} for i, t in enumerate(["zq0x filler words here", "zq1x filler words here"])]
    base = clf.predict_proba([doc])
    assert base.shape == (2, len(LABELS)) and np.allclose(base.sum(1), 1, atol=1e-5)
    # the same text with the word model's view changed: the probabilities follow it
    clf.lexical.pipeline.named_steps["classifier"].intercept_ = \
        clf.lexical.pipeline.named_steps["classifier"].intercept_ + np.array([5.0, 0.0, 0.0, -5.0])
    assert not np.allclose(base, clf.predict_proba([doc]))


def test_a_lexical_model_without_its_word_model_is_a_clear_error(lexical_document_model, tmp_path):
    import shutil

    import torch

    from claimsort.io.errors import InputError
    from claimsort.modeling.document import DocumentClassifier, DocumentClassifierModel

    broken = tmp_path / "broken"
    shutil.copytree(lexical_document_model, broken)
    shutil.rmtree(broken / "lexical")
    with pytest.raises(InputError, match=r"lexical/tfidf.json: missing"):
        DocumentClassifier.load(broken)
    model = DocumentClassifierModel.from_pretrained(lexical_document_model)
    with pytest.raises(ValueError, match="lexical features"):
        model.head(torch.zeros(1, 2, 32), torch.zeros(1, 2, 6), torch.tensor([2]))


def test_context_texts_mark_each_neighbours_words_and_stop_at_the_article_edge():
    from claimsort.modeling.tfidf import context_texts

    docs = [[{"text": "The minister spoke."}, {"text": "He added more."}], [{"text": "Share this"}]]
    assert context_texts(docs) == ["The minister spoke. n_he n_added n_more",
                                   "He added more. p_the p_minister p_spoke",
                                   "Share this"]


def _context_rows() -> list[dict]:
    """Articles where a segment's label is given only by the word of the segment
    before it: 'mx' before means official_claim, 'rx' reported_statement."""
    rows = []
    for d in range(12):
        cue, label = ("mx", "official_claim") if d % 2 else ("rx", "reported_statement")
        for s, (text, lab) in enumerate([(f"{cue} opening line", "boilerplate"), ("the same middle line", label)]):
            rows.append({"doc_id": f"doc{d}", "sent_id": s, "text": text, "label": lab})
    return rows


def test_a_context_words_model_reads_the_segment_before_and_keeps_the_option_when_saved(tmp_path):
    from claimsort.modeling.tfidf import TfidfClassifier

    model = TfidfClassifier.create(char_ngrams=False, seed=0, context_words=True).fit(_context_rows())
    official = [{"text": "mx opening line"}, {"text": "the same middle line"}]
    reported = [{"text": "rx opening line"}, {"text": "the same middle line"}]
    model.save(tmp_path / "lexical")
    loaded = TfidfClassifier.load(tmp_path / "lexical")
    assert loaded.context_words
    both = loaded.predict_proba([official, reported])
    assert LABELS[both[1].argmax()] == "official_claim" and LABELS[both[3].argmax()] == "reported_statement"
    # articles are read apart: together or one by one, the same probabilities
    assert np.allclose(both, np.vstack([loaded.predict_proba([official]), loaded.predict_proba([reported])]))
    # a word-only model cannot tell the two middle lines apart
    plain = TfidfClassifier.create(char_ngrams=False, seed=0).fit(_context_rows()).predict_proba([official, reported])
    assert np.allclose(plain[1], plain[3])


def test_a_tfidf_folder_with_a_bad_context_words_value_is_refused(tmp_path):
    import json

    from claimsort.io.errors import InputError
    from claimsort.modeling.tfidf import TFIDF_FILE, TfidfClassifier

    TfidfClassifier.create(char_ngrams=False, seed=0).fit(_context_rows()).save(tmp_path)
    spec = json.loads((tmp_path / TFIDF_FILE).read_text())
    (tmp_path / TFIDF_FILE).write_text(json.dumps({**spec, "context_words": "yes"}))
    with pytest.raises(InputError, match="context_words"):
        TfidfClassifier.load(tmp_path)


def test_out_of_fold_context_inputs_tell_lines_apart_by_their_own_articles_neighbour():
    from claimsort.modeling.document import fit_lexical

    rows = _context_rows()
    _, oof = fit_lexical(rows, seed=0, folds=4, context_words=True)
    middle = [i for i, r in enumerate(rows) if r["sent_id"] == 1]
    # every held-out middle line is told apart by the word of its own article's opening line
    assert all(LABELS[oof[i].argmax()] == rows[i]["label"] for i in middle)


def test_window_grid_pads_each_window_to_the_longest_and_keeps_its_values():
    import torch

    from claimsort.modeling.document import window_grid

    grid = window_grid([[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]])
    assert grid.shape == (2, 2, 2)
    assert grid[0, 0].tolist() == [1.0, 2.0] and grid[0, 1].tolist() == [0.0, 0.0]
    labels = window_grid([[1, 2, 3], [0]], fill=-100, dtype=torch.long)
    assert labels.dtype == torch.long and labels.tolist() == [[1, 2, 3], [0, -100, -100]]


def test_head_stage_reads_every_furniture_window_only_when_told(tiny_document_model):
    from transformers import AutoTokenizer

    from claimsort.modeling.document import DocumentClassifierConfig
    from claimsort.training import FURNITURE_WINDOWS_PER_PAGE, training_windows

    config = DocumentClassifierConfig.from_pretrained(tiny_document_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_document_model)
    # a web page: 20 menu lines, then 4 article sentences; windows of 4 every 2
    page = [{"doc_id": "web-x", "sent_id": i, "text": f"Menu entry {i}", "label": "boilerplate", "source": "web"}
            for i in range(20)]
    page += [{"doc_id": "web-x", "sent_id": 20 + i, "text": f"The council said it met {i}.",
              "label": "official_claim", "source": "web"} for i in range(4)]
    furniture_only = lambda ds: sum(all(y == 3 for y in ex["labels"]) for ex in ds.examples)  # noqa: E731
    capped = training_windows(page, tokenizer, config, all_windows=False)
    every = training_windows(page, tokenizer, config, all_windows=True)
    assert furniture_only(capped) == FURNITURE_WINDOWS_PER_PAGE
    assert furniture_only(every) == len(windows(24, 4, 2)) - 2 == 9  # all but the two that reach the article
    assert len(every) == len(windows(24, 4, 2))
