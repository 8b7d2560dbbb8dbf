# Everything runs in a local virtual environment built from this repository's files.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: test test-unit test-integration demo emulator dist clean

$(STAMP): setup.py
	@test -x $(PYTHON) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

## The whole suite: unit tests, then the Saleor integration tests (skipped without Saleor).
test: test-unit test-integration

test-unit: $(STAMP)
	$(PYTHON) -m pytest tests/unit tests/app

# The plugin's suite runs against a real Saleor when `saleor` is importable, the App's
# against a running Saleor lab named by SALEOR_LAB (see README, "How it is tested").
# Without them every module skips itself at import, which pytest reports as exit code 5
# ("no tests collected"): the expected outcome here, not a failure.
test-integration: $(STAMP)
	$(PYTHON) -m pytest tests/integration || test $$? -eq 5
	$(PYTHON) -m pytest tests/app_integration || test $$? -eq 5

## One checkout through the plugin's Optty flow against the emulator (no Saleor needed).
## Options go through DEMO_ARGS, e.g. make demo DEMO_ARGS='--decision decline --keep-running'
demo: $(STAMP)
	$(PYTHON) -m saleor_optty.demo $(DEMO_ARGS)

## The Optty sandbox emulator on http://127.0.0.1:8765
emulator: $(STAMP)
	$(PYTHON) -m saleor_optty.emulator --port 8765

dist: $(STAMP)
	$(PYTHON) -m pip install --quiet build twine
	rm -rf dist && $(PYTHON) -m build && $(PYTHON) -m twine check dist/*

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
