# ckpt2pb — every entry point a developer or CI needs.
# `make demo` and `make test` work on a fresh machine: they create .venv and install what they need.

PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TFSTAMP := $(VENV)/.installed-tf
DEMO    ?= fixtures/data/checkpoints/cnn_bn_momentum

.PHONY: install install-tf demo test test-fast lint fixtures protos eval bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(TFSTAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,tf]'
	touch $@

install: $(STAMP)            ## the package, its CLI and the dev tools (no TensorFlow)

install-tf: $(TFSTAMP)       ## plus TensorFlow CPU for cross-checks, --verify and fixtures

demo: $(STAMP)               ## inspect, then freeze, the bundled example checkpoint
	$(BIN)/inspect $(DEMO)
	mkdir -p out
	$(BIN)/freeze $(DEMO) --auto-outputs -o out/demo_frozen.pb
	$(BIN)/inspect out/demo_frozen.pb

test: $(TFSTAMP)             ## the whole suite, TensorFlow cross-checks included
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-fast: $(STAMP)          ## the suite without TensorFlow (tf tests skip)
	$(BIN)/python -m pytest -q -n 2 -m "not tf"

lint: $(STAMP)
	$(BIN)/ruff check inspector freezer tests fixtures bench

fixtures: $(TFSTAMP)         ## regenerate fixtures/data with TensorFlow
	TF_USE_LEGACY_KERAS=1 $(BIN)/python fixtures/make_fixtures.py

protos: $(STAMP)             ## recompile inspector/proto/*.proto into the committed descriptor set
	$(BIN)/python inspector/proto/compile.py

eval: $(TFSTAMP)             ## ranking accuracy (first contact and now) over fixtures, corpus, held-out graphs
	$(BIN)/python bench/evaluate_ranking.py $(EVAL_ARGS)

bench: $(TFSTAMP)            ## benchmarks against TensorFlow (builds a large checkpoint once)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out bench/work .pytest_cache
