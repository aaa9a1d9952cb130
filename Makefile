# The two commands a newcomer needs:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo app test lint docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch pinned here (a CPU build lies on disk on the dev machines); the package asks a range.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,postgres,ray,benchmarks,docs]'
	$(BIN)/python -m compileall -q src  # bytecode now: an editable install is not compiled
	$(BIN)/formulate build-kernel  # BoTorch's fused kernel, once, in this environment
	touch $@

install: $(BIN)/.installed

demo: install           ## set up, then run the demo campaign on the embedded defaults
	$(BIN)/formulate demo

app: install            ## open the app on the demo's campaign (run `make demo` first)
	cd demo-output && $(abspath $(BIN))/streamlit run $(abspath app.py)

lint: install
	$(BIN)/ruff check src tests bench app.py docs
	$(BIN)/ruff format --check src tests bench app.py docs
	$(BIN)/mypy src

docs: install           ## the documentation site in site/: references generated, tutorials run
	$(BIN)/python docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: install lint      ## set up, then lint, type-check, run the tests (browser test too), docs
	tests/with_postgres.sh $(BIN)/pytest -m "not slow"
	$(MAKE) docs

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache site .cache
