"""The page-structure model: HTML boilerplate judged from markup (claimsort.html.pagestructure)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED
from claimsort.labels import LABELS
from claimsort.io.errors import InputError
from claimsort.html.pagestructure import MAIN_TEXT_COLUMNS, N_FEATURES, PAGE_STRUCTURE_FILE, PageStructureModel, _main_text_features, combine, html_segments, main_text, smooth, text_with_elements
from claimsort.text.segmentation import Segment
from claimsort.text.segmentation import html_to_text

WEB_PAGES = SHARED / "corpora" / "web-pages"

ARTICLE = [
    "The council approved the new budget on Tuesday after a long debate.",
    "Spending on roads rises by four percent, the finance office said.",
    "Critics called the plan a gamble with the city's reserves.",
    "The mayor said the vote showed the council could still agree on hard choices.",
]


def page(n: int, article: list[str] | None = None) -> tuple[str, list[bool]]:
    """A news page in the shape of real ones: a menu, the article in <article><p>,
    reader comments in full sentences, teaser links, a footer. Returns the HTML and,
    for every line of its visible text, whether it belongs to the article."""
    article = article or [f"{s[:-1]} in district {n}." for s in ARTICLE]
    menu = ["Home", "World", "Politics", "Business", "Sport"]
    comments = [f"Reader {n} wrote that the budget is a disgrace and taxes will rise again.",
                "I have lived here forty years and never seen such waste of public money."]
    teasers = [f"Storm closes schools across the region {n}", "Local team wins the cup after extra time"]
    html = ("<html><head><title>News</title></head><body>"
            "<nav class='main-menu'><ul>" + "".join(f"<li><a href='/{m}'>{m}</a></li>" for m in menu) + "</ul></nav>"
            f"<article class='story'><h1>Council passes budget {n}</h1>"
            + "".join(f"<p>{s}</p>" for s in article) + "</article>"
            "<div class='comments'>" + "".join(f"<div class='comment'><p>{c}</p></div>" for c in comments) + "</div>"
            "<aside class='related'><ul>" + "".join(f"<li><a href='/t{i}'>{t}</a></li>" for i, t in enumerate(teasers))
            + "</ul></aside><footer><p>Copyright 2026 The Daily Example, all rights reserved</p></footer>"
            "</body></html>")
    truth = [False] * (1 + len(menu)) + [True] * (1 + len(article)) + [False] * (len(comments) + len(teasers) + 1)
    return html, truth


def test_visible_text_is_exactly_html_to_text():
    html, _ = page(1)
    text, spans = text_with_elements(html)
    assert text == html_to_text(html)
    # every span points into the text, in order, at the element the words came from
    assert all(0 <= s < e <= len(text) for s, e, _ in spans)
    starts = [s for s, _, _ in spans]
    assert starts == sorted(starts)
    owner = {text[s:e]: el.tag for s, e, el in spans}
    assert owner["Home"] == "a" and owner[ARTICLE[0][:-1] + " in district 1."] == "p"


@pytest.mark.skipif(not (WEB_PAGES / "html").is_dir(), reason="web-pages corpus not beside the checkout")
def test_visible_text_matches_html_to_text_on_every_real_page():
    from claimsort.io.files import read_page

    paths = sorted((WEB_PAGES / "html").glob("*.html*"))
    assert len(paths) >= 80
    different = [p.name for p in paths if text_with_elements(read_page(p))[0] != html_to_text(read_page(p))]
    assert different == []


def test_smoothing_fills_a_gap_in_a_run_and_keeps_a_clear_switch():
    run = np.array([0.1, 0.1, 0.1, 0.9, 0.9, 0.3, 0.9, 0.9, 0.9, 0.1, 0.1])
    post = smooth(run)
    assert post.shape == run.shape and np.all((post >= 0) & (post <= 1))
    assert post[5] > 0.5  # one doubtful line inside the article is kept
    assert post[:3].max() < 0.5 and post[-2:].max() < 0.5 and post[3:9].min() > 0.5
    assert np.allclose(smooth(run[::-1]), post[::-1])  # no direction is preferred
    assert smooth(np.zeros(0)).shape == (0,)
    assert smooth(np.array([0.8]))[0] == pytest.approx(0.8, abs=1e-6)  # one segment: no neighbours to learn from


def test_combine_takes_boilerplate_from_the_page_and_shares_the_rest_as_the_model_does():
    boiler = LABELS.index("boilerplate")
    proba = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.05, 0.0, 0.85]], dtype=np.float32)
    out = combine(proba, np.array([0.2, 0.9]), boiler)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert out[0, boiler] == pytest.approx(0.8) and out[1, boiler] == pytest.approx(0.1)
    assert out[0, 0] / out[0, 1] == pytest.approx(3.0)  # the model's 0.6 : 0.2
    assert out[1, 0] == pytest.approx(0.6) and out[1, 1] == pytest.approx(0.3)  # 0.9 shared 2:1
    # a byline inside the article's markup: the sentence model is sure, its call stands
    byline = np.array([[0.02, 0.03, 0.0, 0.95]], dtype=np.float32)
    assert np.allclose(combine(byline, np.array([0.9]), boiler), byline)
    assert combine(byline, np.array([0.9]), boiler, veto=0.99)[0, boiler] == pytest.approx(0.1)


def test_main_text_feature_is_the_share_of_each_segment_the_extractor_kept():
    html, _ = page(3)
    extracted = main_text(html)
    assert "Critics called the plan a gamble" in extracted and "Home" not in extracted.split()
    segs = [Segment(t, 0, 0) for t in ["Critics called the plan a gamble with the city's reserves.",  # all 8 trigrams kept
                                       "Critics called the plan a triumph for the city.",  # 3 of its 7 trigrams
                                       "Sport", "the plan", "Nowhere in the extracted text at all."]]
    got = _main_text_features(segs, "Critics called the plan a gamble with the city's reserves.")
    assert got[:, 0] == pytest.approx([1.0, 3 / 7, 0.0, 1.0, 0.0])  # short segments: found as a phrase or not
    assert list(got[:, 1]) == [1.0] * 5
    assert list(_main_text_features(segs, "")[:, 1]) == [0.0] * 5  # the extractor found nothing on this page
    assert main_text("<html><body></body></html>") == "" and main_text("\x00<<>>") == ""
    segments, features = html_segments(html)
    assert features.shape == (len(segments), N_FEATURES)
    assert np.allclose(features[:, MAIN_TEXT_COLUMNS[:2]], _main_text_features(segments, extracted))


def test_a_model_fitted_on_other_features_is_refused_with_a_clear_error(tmp_path):
    from sklearn.linear_model import LogisticRegression

    stale = LogisticRegression().fit(np.eye(4)[:, :3].repeat(3, axis=0), [0, 1, 0, 1] * 3)
    PageStructureModel(stale).save(tmp_path)
    with pytest.raises(InputError, match=r"page_structure\.npz: fitted on 3 features.*claimsort page-structure"):
        PageStructureModel.load(tmp_path)
    # predict.py says so in one line, before loading or exporting anything
    run = subprocess.run([sys.executable, "predict.py", "README.md", "--model", str(tmp_path), "--out",
                          str(tmp_path / "out.jsonl")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"error: {tmp_path / PAGE_STRUCTURE_FILE}: fitted on 3 features" in run.stderr


def fit_on_pages(ns) -> PageStructureModel:
    pages = []
    for n in ns:
        html, truth = page(n)
        segments, features = html_segments(html)
        assert len(segments) == len(truth), [s.text for s in segments]
        pages.append((features, np.array(truth)))
    return PageStructureModel.fit(pages)


def test_model_learns_from_markup_what_text_alone_cannot_tell():
    model = fit_on_pages(range(6))
    # an unseen page whose article sentences are new: the comments are good prose too
    html, truth = page(99, ["Officials confirmed the bridge will reopen in May.",
                            "Engineers found the cracks smaller than first feared.",
                            "Residents said they had waited long enough."])
    segments, features = html_segments(html)
    keep = model.p_article(features) >= 0.5
    assert list(keep) == truth, [(s.text, k) for s, k in zip(segments, keep)]


def test_saved_model_loads_back_and_a_folder_without_one_gives_none(tmp_path):
    model = fit_on_pages(range(3))
    model.save(tmp_path)
    assert (tmp_path / PAGE_STRUCTURE_FILE).is_file()
    html, _ = page(7)
    _, features = html_segments(html)
    assert np.allclose(PageStructureModel.load(tmp_path).p_article(features), model.p_article(features))
    assert PageStructureModel.load(tmp_path / "elsewhere") is None


def test_predict_labels_html_boilerplate_from_the_page_structure(tiny_transformer, tmp_path):
    """With page_structure.joblib in the model folder, predict.py's labels for an
    HTML page follow the markup: menu, comments, teasers and footer are boilerplate,
    the article is not, whatever the (here untrained) sentence model thinks."""
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_transformer, folder, ignore=shutil.ignore_patterns("onnx"))
    fit_on_pages(range(6)).save(folder)
    html, truth = page(42)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "page.html").write_text(html, encoding="utf-8")
    (tmp_path / "in" / "plain.txt").write_text("\n".join(ARTICLE) + "\nHome\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), str(tmp_path / "in"), "--model", str(folder),
                           "--out", str(out), "--backend", "torch", "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    html_rows = [r for r in rows if r["source_file"].endswith("page.html")]
    assert [r["label"] != "boilerplate" for r in html_rows] == truth
    for r in rows:
        assert sum(r[f"p_{label}"] for label in LABELS) == pytest.approx(1.0, abs=1e-3)
    # plain text has no markup: the sentence model alone labels it (its own argmax)
    for r in (r for r in rows if r["source_file"].endswith("plain.txt")):
        assert r["label"] == max(LABELS, key=lambda label: r[f"p_{label}"])


@pytest.mark.skipif(not (WEB_PAGES / "ground-truth.json").is_file(), reason="web-pages corpus not beside the checkout")
def test_cli_fits_on_the_training_pages(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "claimsort.cli.pagestructure", str(tmp_path), "--web-dir", str(WEB_PAGES)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    train_pages = sum(json.loads(line)["split"] == "train"
                      for line in (ROOT / "data/annotations/web-pages.jsonl").read_text().splitlines())
    assert f"fitted on {train_pages} pages" in proc.stdout
    assert PageStructureModel.load(tmp_path) is not None


def test_cli_names_a_missing_corpus_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "claimsort.cli.pagestructure", str(tmp_path), "--web-dir",
                           str(tmp_path / "nowhere")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "nowhere" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(not (WEB_PAGES / "ground-truth.json").is_file(), reason="web-pages corpus not beside the checkout")
def test_training_fits_it_when_the_web_pages_are_present_and_the_config_asks(tmp_path, monkeypatch):
    from claimsort.config import load_config
    from claimsort.training import train_page_structure

    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CLAIMSORT_WEB_PAGES_DIR", raising=False)
    cfg = load_config("configs/default.yaml", [f"data.web_pages_dir={WEB_PAGES}"])
    train_pages = sum(json.loads(line)["split"] == "train"
                      for line in (ROOT / "data/annotations/web-pages.jsonl").read_text().splitlines())
    assert train_page_structure(cfg, tmp_path) == train_pages
    assert PageStructureModel.load(tmp_path) is not None
    off = load_config("configs/default.yaml", [f"data.web_pages_dir={WEB_PAGES}", "model.page_structure=false"])
    assert train_page_structure(off, tmp_path / "off") == 0
    no_pages = load_config("configs/default.yaml", ["data.sources=[written,ptc]"])
    assert train_page_structure(no_pages, tmp_path / "none") == 0
    assert not (tmp_path / "off").exists() and not (tmp_path / "none").exists()


@pytest.mark.skipif(not (WEB_PAGES / "html").is_dir(), reason="web-pages corpus not beside the checkout")
def test_features_are_the_same_in_every_process():
    """Features must not depend on where Python happens to allocate objects (a cache
    keyed by id() of lxml's short-lived element proxies once made them differ from
    run to run); different hash seeds move those allocations."""
    script = ("import hashlib, sys; from pathlib import Path; "
              "from claimsort.html.pagestructure import html_segments; from claimsort.io.files import read_page; "
              f"paths = sorted(Path({str(WEB_PAGES / 'html')!r}).glob('*.html*'))[:5]; "
              "print(hashlib.sha256(b''.join(html_segments(read_page(p))[1].tobytes() for p in paths)).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
                              capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(digests) == 1, digests


def test_saved_model_loads_without_pickle_and_predicts_exactly_the_same(tmp_path, monkeypatch):
    import pickle

    import joblib

    model = fit_on_pages(range(3))
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page_structure.npz"]

    def refuse(*args, **kwargs):
        raise AssertionError("a model folder was unpickled")

    for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)
    html, _ = page(7)
    _, features = html_segments(html)
    assert np.array_equal(PageStructureModel.load(tmp_path).p_article(features), model.p_article(features))


def test_predict_with_an_old_page_structure_joblib_says_how_to_convert_it(tmp_path):
    from claimsort.modeling.tfidf import TfidfClassifier

    TfidfClassifier.create(seed=0).fit([{"text": t, "label": l} for t, l in (
        ("The ministry said so.", "official_claim"), ("A resident said so.", "reported_statement"),
        ("It is unclear.", "editorial_skepticism"), ("Share this", "boilerplate"))] * 3).save(tmp_path)
    (tmp_path / "page_structure.joblib").write_bytes(b"\x80\x04not loaded")
    run = subprocess.run([sys.executable, "predict.py", "README.md", "--model", str(tmp_path), "--out",
                          str(tmp_path / "out.jsonl")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (
        f"error: {tmp_path / 'page_structure.joblib'}: a pickle from an older claimsort, which is no longer loaded "
        "(unpickling runs whatever code the file carries); convert the folder: "
        f"`claimsort page-structure {tmp_path}` refits the model in the safe format (needs the web-pages "
        "corpus), or delete the file to go without it")
