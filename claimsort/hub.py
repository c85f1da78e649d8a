"""Hugging Face Hub: the model card of a model folder, and pushing the folder.

    claimsort hub push models/NAME --repo-id USER/NAME [--private]
"""
from __future__ import annotations

import os
from pathlib import Path

from claimsort.labels import LABELS

LICENSE = "apache-2.0"
DATASET_ID = "claimsort-corpus"
UPLOAD_IGNORED_FOLDERS = ("checkpoints", "onnx")  # the Trainer's resume state; the ONNX cache


def _card_data(cfg, results: dict):
    from huggingface_hub import EvalResult, ModelCardData

    eval_results = []
    for split, m in results.items():
        for metric_type, name, value in (("f1", "macro-F1", m["macro_f1"]), ("accuracy", "accuracy", m["accuracy"])):
            eval_results.append(EvalResult(
                task_type="text-classification", task_name="Claim-type classification of news segments",
                dataset_type=DATASET_ID, dataset_name=f"claimsort corpus ({split})", dataset_split=split,
                metric_type=metric_type, metric_name=f"{name} ({split})", metric_value=round(value, 4)))
    base = cfg.model.base_model if cfg.model.family in ("document", "transformer") else None
    if base == "all-MiniLM-L6-v2":
        base = "sentence-transformers/all-MiniLM-L6-v2"
    return ModelCardData(
        language="en", license=LICENSE, library_name="transformers" if base else "sklearn",
        pipeline_tag="token-classification" if cfg.model.family == "document" else "text-classification",
        base_model=base, datasets=[DATASET_ID],
        tags=["text-classification", "news", "claims", "claimsort"],
        model_name=f"claimsort-{cfg.name}", eval_results=eval_results or None,
    )


def _results_table(results: dict) -> str:
    if not results:
        return "No evaluation was run for this model folder."
    lines = ["| split | segments | macro-F1 (95% CI) | accuracy | " + " | ".join(f"F1 {l}" for l in LABELS) + " |",
             "|---|---|---|---|" + "---|" * len(LABELS)]
    for split, m in results.items():
        ci = m.get("macro_f1_ci95")
        per = " | ".join(
            f"{m['per_class'][l]['f1']:.3f}" + (f" [{m['per_class'][l]['f1_ci95'][0]:.2f}, {m['per_class'][l]['f1_ci95'][1]:.2f}]"
                                                 if "f1_ci95" in m["per_class"][l] else "") for l in LABELS)
        ci_text = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        lines.append(f"| {split} | {m['n_segments']} | {m['macro_f1']:.4f}{ci_text} | {m['accuracy']:.4f} | {per} |")
    return "\n".join(lines)


CARD_TEMPLATE = """---
{card_data}
---

# claimsort-{name}

Sorts every segment (sentence, or stand-alone line) of a news article or web page into one of four classes:
`official_claim`, `reported_statement`, `editorial_skepticism`, `boilerplate`. Trained with
the claimsort repository from the config `{config_name}` (resolved config in `config.yaml`, run record in
`run.json`: git commit `{commit}`, seed {seed}).

## Intended use
Research on how news text relays official claims, reportage and editorial doubt; structuring article
collections; removing page furniture (the `boilerplate` class) before further analysis. It is not a fact-checker:
a segment labelled `official_claim` says who asserts it, not whether it is true, and `editorial_skepticism`
marks the writer's own doubt or opinion, not misinformation.

## Label scheme
| id | label | in one line |
|---|---|---|
| 0 | `official_claim` | what a public authority asserts, as the article relays it |
| 1 | `reported_statement` | reportage: what anyone else said, and the article's neutral account of events |
| 2 | `editorial_skepticism` | the writer's own voice: doubt, dispute, criticism, argument, opinion |
| 3 | `boilerplate` | not part of the article: page furniture and publication metadata |

## Model
- Family: {family}; base model: {base_model}
- Input: {input_desc}
- Training: {training_desc}

## Training data
The claimsort corpus (see `data/README.md` in the repository): articles written for the project (always), real
news articles of the Propaganda Techniques Corpus, real news web pages, NewsDiscourse (Xinhua, Reuters, NYT) and
BASIL (Fox News, NYT, HuffPost) articles (stand-off annotations, used when their text is present). Sources used in this run: {sources}. Training segments per label:
{train_counts}.

## Evaluation
Test figures are measured on held-out documents; intervals are 95% bootstrap intervals over documents
(1000 resamples, seeded). The `test` split includes the real PTC dev articles when the PTC text was present.

{results_table}

## Limitations and biases
- English only. News of roughly 2010-2019 (PTC, the web pages, NewsDiscourse, BASIL) plus articles written for the
  project in the same genres; outlets, topics and time span outside those are less well covered.
- The PTC articles over-represent partisan and alternative-media outlets; the written articles were authored by
  the project and carry its view of each genre's style.
- The boundary between neutral reportage and the writer's own skeptical voice is a judgement call; annotators
  agree less there than elsewhere (see the corpus card's agreement figures).
- Whether a source counts as a public authority depends on how the article presents it (see the scheme).

## Usage
{usage}
For collections of articles, use the repository's batch predictor:
`python predict.py article.html more/ --model {usage_path} --out predictions.jsonl`. On HTML pages it also
uses `page_structure.npz` when the folder has one: a logistic regression over markup features (enclosing tags,
class names, link density) and trafilatura's reading of the page (is the segment in the main text it extracts),
fitted on the training web pages, that decides which segments are boilerplate.
"""

DOCUMENT_USAGE = """The model reads whole articles. With the `claimsort` package installed (it registers the model
type and the pipeline with transformers; no remote code):
```python
import claimsort  # registers the claimsort-document model type and pipeline
from transformers import AutoModel, pipeline

classify = pipeline("claimsort-document", model="{usage_path}")
for segment in classify(open("article.md").read(), format="markdown"):  # or "text", "html", "auto"
    print(segment["label"], round(segment["score"], 2), segment["text"])

model = AutoModel.from_pretrained("{usage_path}")  # a DocumentClassifierModel (PreTrainedModel)
print(model.config.window, model.config.stride, model.config.max_segment_tokens)  # the serving contract
```
"""

SENTENCE_USAGE = """```python
from transformers import pipeline

classifier = pipeline("text-classification", model="{usage_path}")
# truncation at the training length, as predict.py does (a longer segment is cut, never an error)
print(classifier("The ministry said 1,200 homes had been reconnected to the grid by Friday.",
                 truncation=True, max_length={max_length}))
```
"""


def _input_description(cfg) -> str:
    m = cfg.model
    if m.family == "document":
        return (f"the whole article: each segment encoded once ({m.pooling} of its token vectors, at most "
                f"{m.max_length} tokens, head and tail of a longer one), then a bidirectional GRU over the article's "
                f"segment vectors and positions, in windows of {m.window} segments every {m.stride} (each segment "
                "labelled in the window where it lies farthest from an edge)"
                + ("; beside each segment's vector, its class log-probabilities from a word n-gram TF-IDF model "
                   "(`lexical/`, fitted on the training split)" if m.lexical_features else ""))
    if m.family == "transformer" and m.context == "neighbours":
        return "the segment, plus its position and neighbouring segments as a second text"
    return "the segment alone"


def _training_description(cfg, record: dict) -> str:
    t = cfg.training
    if cfg.model.family == "tfidf":
        return "logistic regression on TF-IDF features"
    epochs = t.trainer.get("num_train_epochs")
    steps = t.trainer.get("max_steps")
    text = (f"through the transformers Trainer, {f'{steps} steps' if steps and steps > 0 else f'{epochs} epoch(s)'}"
            f" end to end, class weights {t.class_weighting}")
    if cfg.model.family == "document" and t.head_epochs:
        history = record.get("head_stage_dev_macro_f1") or []
        best = f" (best dev macro-F1 {max(history):.3f}, epoch {history.index(max(history)) + 1})" if history else ""
        text += (f"; then a head stage: the trained encoder frozen, a fresh GRU and labelling layer trained on its "
                 f"segment vectors for {t.head_epochs} epochs, the best dev epoch kept{best}")
    return text


def write_model_card(model_dir: Path, cfg, record: dict, results: dict) -> Path:
    """README.md of a model folder: a valid Hugging Face model card."""
    from huggingface_hub import ModelCard

    data = _card_data(cfg, results)
    train_counts = record.get("data_counts", {}).get("train", {})
    card = ModelCard(CARD_TEMPLATE.format(
        card_data=data.to_yaml(), name=cfg.name, config_name=f"configs/{cfg.name}.yaml",
        commit=(record.get("git") or {}).get("commit"), seed=cfg.seed,
        family=cfg.model.family,
        base_model=(cfg.model.base_model if cfg.model.family in ("document", "transformer")
                    else "none (TF-IDF features)"),
        input_desc=_input_description(cfg), training_desc=_training_description(cfg, record),
        usage=(DOCUMENT_USAGE if cfg.model.family == "document" else SENTENCE_USAGE).format(
            usage_path=str(model_dir), max_length=cfg.model.max_length),
        sources=", ".join(record.get("sources", [])),
        train_counts=", ".join(f"{k} {v}" for k, v in train_counts.items()),
        results_table=_results_table(results), usage_path=str(model_dir),
    ))
    path = Path(model_dir) / "README.md"
    card.save(path)
    return path


def push(model_dir: Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload a model folder; stops before doing anything when no token is set."""
    from huggingface_hub import HfApi, constants, get_token

    from claimsort.modeling.loading import PICKLE_SUFFIXES

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SystemExit(f"error: {model_dir}: no such model folder; nothing was uploaded")
    if not (model_dir / "README.md").is_file():
        raise SystemExit(f"error: {model_dir} has no README.md model card; train or evaluate it first")
    # What the Hub serves is what users download and load: a pickle there runs whatever
    # code it carries (checkpoints/ and onnx/ are never uploaded).
    pickles = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*")
                     if p.is_file() and p.suffix in PICKLE_SUFFIXES
                     and p.relative_to(model_dir).parts[0] not in UPLOAD_IGNORED_FOLDERS)
    if pickles:
        raise SystemExit(f"error: {model_dir} holds pickle files ({', '.join(pickles)}), which run code when loaded "
                         "and which the Hub flags; convert or delete them (a current claimsort saves none: "
                         "`claimsort page-structure` refits page_structure.joblib, train.py retrains a "
                         "TF-IDF model.joblib); nothing was uploaded")
    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise SystemExit("error: no Hugging Face token: run `huggingface-cli login` or set HF_TOKEN; nothing was uploaded")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(model_dir), repo_id=repo_id,
                                   ignore_patterns=[f"{d}/*" for d in UPLOAD_IGNORED_FOLDERS]
                                   + ["eval/*/predictions.jsonl"])
    except Exception as e:  # httpx/requests connection errors, HfHubHTTPError (401, 403 ...), offline mode
        detail = str(e).strip().splitlines()[0][:300] if str(e).strip() else "no detail"
        raise SystemExit(f"error: uploading {model_dir} to {repo_id} on {constants.ENDPOINT} failed "
                         f"({type(e).__name__}: {detail}); check the network and the token") from None
    return str(commit)

