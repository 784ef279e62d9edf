# The two commands of the README: `make demo` (the demo study) and `make test` (the test suite).
# Each sets up everything it needs: a virtual environment, torch==2.13.0 first (the CPU build, from PyTorch's
# CPU index; a plain `torch` requirement would pull a multi-GB CUDA build on Linux), then the package.
# TORCH_INDEX= (empty) takes torch from pip's configured index instead (a CUDA build on Linux); when the CPU
# index cannot be reached, the configured index is the fallback.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STUDY ?= demo-study
DEMO_EPOCHS ?= 100
WORKERS ?= 2
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --retries 1 --timeout 10 torch==2.13.0 \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) || $(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,ray]"
	touch $@

# The demo study on the vendored mini archive: pre-train 6 datasets, fine-tune all 30 pairs,
# write the matrices, run Algorithm 1 and write the HTML report (its path is printed last). DEMO_EPOCHS (not the paper's 2000) keeps it under 15 minutes on 2 cores;
# every output says so.
demo: setup
	$(BIN)/tstransfer grid --study $(STUDY) --all --epochs $(DEMO_EPOCHS) --test-every 10 --workers $(WORKERS)
	$(BIN)/tstransfer results --study $(STUDY)
	$(BIN)/tstransfer similarity --study $(STUDY) --jobs $(WORKERS) --plots
	$(BIN)/tstransfer report --study $(STUDY) --out $(STUDY)/report

test: setup
	bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(STUDY) .pytest_cache
