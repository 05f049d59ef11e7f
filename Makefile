# The two commands of the README, each installing what it needs into a virtual
# environment first: `make demo` runs the default experiment, `make test` every test.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch (on the project's machines a local file; elsewhere pass
# e.g. TORCH="torch --index-url https://download.pytorch.org/whl/cpu", or a CUDA build)
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install demo test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[dev,transformers,plots,package,dask,fast]"
	touch $@

demo: install
	$(BIN)/python -m spacy project run all

test: install
	$(BIN)/python -m pytest tests -q
