# ckpt2pb — every entry point a developer or CI needs.
# `make demo` and `make test` work on a fresh machine: they create .venv and install what they need.

PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TFSTAMP := $(VENV)/.installed-tf
DEPLOYSTAMP := $(VENV)/.installed-deploy
DEMO    ?= fixtures/data/checkpoints/cnn_bn_momentum
FUZZ_MINUTES ?= 30
FUZZ_SEED    ?= 1

.PHONY: install install-tf install-deploy deploy-matrix browser demo test test-fast lint fixtures protos eval bench screenshots fuzz clean

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

$(DEPLOYSTAMP): $(TFSTAMP)
	$(BIN)/pip install -q -e '.[dev,tf,deploy]'
	touch $@

install-deploy: $(DEPLOYSTAMP)  ## plus OpenCV 4.14, tf2onnx and onnxruntime for the deploy matrix

demo: $(STAMP)               ## inspect, then freeze, the bundled example checkpoint
	$(BIN)/inspect $(DEMO)
	mkdir -p out
	$(BIN)/freeze $(DEMO) --auto-outputs -o out/demo_frozen.pb
	$(BIN)/inspect out/demo_frozen.pb

# The HTML view's tests drive a real headless Chromium (tests/inspector/view/test_browser.py). Where
# it is missing and apt-get can install it (root, or password-less sudo: CI's fresh Debian machine),
# Debian's chromium is installed once, its output kept in a log; anywhere else the browser tests
# skip with the reason, and `make test` still runs everything else. Never fails the build.
browser: $(STAMP)            ## Debian's chromium for the browser tests (skipped without it)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: no chromium and no apt-get here: the browser tests will skip"; \
	else \
	  if [ "$$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	  else as_root=none; fi; \
	  if [ "$$as_root" = none ]; then echo "note: chromium is missing (apt-get install chromium needs root): the browser tests will skip"; \
	  else echo "installing Debian's chromium for the browser tests (log: $(VENV)/chromium-install.log)"; \
	    { $$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	      $$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	        chromium fonts-dejavu-core; } > $(VENV)/chromium-install.log 2>&1 \
	    || echo "note: apt-get could not install chromium (see $(VENV)/chromium-install.log): the browser tests will skip"; \
	  fi; \
	fi

test: $(DEPLOYSTAMP) browser ## the whole suite: TensorFlow cross-checks, the deploy matrix, browser tests
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

deploy-matrix: $(DEPLOYSTAMP) ## model x frozen variant x runtime over fixtures and corpus -> docs/DEPLOY.md
	TF_USE_LEGACY_KERAS=1 $(BIN)/python bench/deploy/matrix.py --write-docs

# A brief fixed-seed run of the same fuzzer is part of `make test` (tests/fuzz/test_fuzz.py).
fuzz: $(STAMP)               ## mutated fixtures through the readers, inspect and freeze; new bugs -> tests/fuzz/reproducers
	$(BIN)/python tests/fuzz/run.py --minutes $(FUZZ_MINUTES) --seed $(FUZZ_SEED) $(FUZZ_ARGS)

bench: $(TFSTAMP)            ## benchmarks against TensorFlow (builds a large checkpoint once)
	$(BIN)/python bench/run.py

screenshots: $(TFSTAMP) browser  ## docs/view_*.png: the HTML view of two fixtures and the benchmark transformer
	TF_USE_LEGACY_KERAS=1 $(BIN)/python bench/view_screenshots.py

clean:
	rm -rf $(VENV) out bench/work .pytest_cache
