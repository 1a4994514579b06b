# Two commands: `make demo` (set up, then analyse the bundled examples) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is pinned to the CPU build this project is developed and tested on; install another
# build first (e.g. a CUDA one) and pip keeps it.
TORCH ?= torch==2.13.0

.PHONY: setup demo test clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/frontwatch analyze examples/articles.jsonl -o out/examples.jsonl
	@echo "--- out/examples.jsonl (first rows)"
	@head -n 3 out/examples.jsonl

test: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) out eval runs
