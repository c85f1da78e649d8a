# make train  - install (first time), train the default config, evaluate it, write models/default/
# make test   - install (first time), run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/default.yaml
# The third-party corpora, when present beside the checkout (as in CI); override
# with CLAIMSORT_PTC_DIR / CLAIMSORT_WEB_PAGES_DIR.
SHARED_CORPORA ?= ../shared/corpora
ifneq ($(wildcard $(SHARED_CORPORA)/ptc),)
export CLAIMSORT_PTC_DIR ?= $(abspath $(SHARED_CORPORA)/ptc)
endif
ifneq ($(wildcard $(SHARED_CORPORA)/web-pages),)
export CLAIMSORT_WEB_PAGES_DIR ?= $(abspath $(SHARED_CORPORA)/web-pages)
endif
export WANDB_MODE ?= offline
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install train test baseline sentence bench data-stats clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

train: install
	$(PY) train.py --config $(CONFIG)

baseline: install
	$(PY) train.py --config configs/tfidf.yaml

sentence: install
	$(PY) train.py --config configs/sentence.yaml

# Two workers: most tests wait on a subprocess that uses one core; the Ray tests
# share one worker (xdist_group), one local cluster at a time.
test: install
	$(PY) -m pytest -q -n 2 --dist loadgroup

bench: install
	$(PY) bench/run_all.py

data-stats: install
	$(VENV)/bin/claimsort data stats

clean:
	rm -rf models/*/ wandb/ .pytest_cache
