# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a building block.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TOOLS  := .venv-tools

.PHONY: install chromium demo test lint bench-ingest bench-feedback bench-search clean

install: $(STAMP)

# torch goes in first and pinned: this machine has the CPU wheel of 2.13.0 on disk, while letting
# sentence-transformers pull torch from the index would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# checkov pins packaging<24, which pytest cannot live with: it gets a virtualenv of its own.
	test -x $(TOOLS)/bin/checkov || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet checkov==3.3.30)
	touch $(STAMP)

# Ends with two answers as the Slack bot would post them: one anyone may read, one from a restricted page.
demo: install
	$(BIN)/kb sync
	$(BIN)/kb search "How do I connect to the VPN from home?" --top-k 3
	$(BIN)/kb ask "How many weeks of parental leave do I get?"
	$(BIN)/kb ask "Which customers did the duplicate payment run affect?" --as tom.okafor@larkspur.example

# The tests start the services they need themselves (a real `chroma run` server, fake-gcs-server, HTTP
# stand-ins for Confluence, Slack and the LLM API).
test: install chromium
	$(BIN)/python -m pytest

# The report is checked in a real browser: Debian's chromium, installed when missing (as root with apt, like CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }; } || \
	  echo "chromium is missing and cannot be installed here (needs root and apt): the report's screenshot test will skip"

lint: install
	$(BIN)/ruff check common functions jobs tests bench
	$(BIN)/ruff format --check common functions jobs tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-feedback: install
	$(BIN)/python bench/feedback.py

bench-search: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/search_latency.py

clean:
	rm -rf .kb .pytest_cache .mypy_cache .ruff_cache $(TOOLS)
