# Two entry points, both self-contained on a fresh machine:
#   make app    create .venv, install, start the app (opens on the shipped pretrained/ results)
#   make test   create .venv, install the app and test tools (and Chromium for the browser test), run pytest
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: app test browser
app: $(STAMP)
	$(PY) -m streamlit run streamlit_app.py

test: $(STAMP) browser
	$(PY) -m pytest

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium for the Playwright test (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }
