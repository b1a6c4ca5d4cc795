# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's Chromium (Playwright uses the system browser, never its own download).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test train evaluate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: the CPU build that lies on this disk; a looser pin would pull a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lipservice demo --html demo-report.html

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

test: $(STAMP) $(CHROMIUM)
	LIPSERVICE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q

train: $(STAMP)
	$(BIN)/lipservice train

evaluate: $(STAMP)
	$(BIN)/lipservice evaluate --task perspective
	$(BIN)/lipservice evaluate --task perspective --real
	$(BIN)/lipservice evaluate --task promises
	$(BIN)/lipservice evaluate --task promises --real
	$(BIN)/lipservice evaluate --task claims
	$(BIN)/lipservice evaluate --task complaints
	$(BIN)/lipservice evaluate --task complaints --real

clean:
	rm -rf $(VENV) .pytest_cache
