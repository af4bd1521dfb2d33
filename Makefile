# Entry points, each self-contained on a fresh machine:
#   make app    create .venv, install, start the app (opens on the shipped pretrained/ results),
#               behind the lecture gate (deploy/serve_app.py); PUBLIC_HOST=<this machine's address>
#               puts the address students type (and its QR code) on the slides
#   make class  the app for a class: PROCESSES app processes behind HAProxy (deploy/serve_class.py)
#   make test   create .venv, install the app and test tools (and Chromium and HAProxy for the
#               browser and multi-process tests), run pytest
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

PROCESSES ?= 2
# Where `make class` listens: loopback only, unless PUBLIC_HOST (the address students type) is given.
ADDRESS ?= $(if $(PUBLIC_HOST),0.0.0.0,127.0.0.1)
PORT ?= 8501

.PHONY: app class test browser
app: $(STAMP)
	$(PY) -m deploy.serve_app $(if $(PUBLIC_HOST),--public-host $(PUBLIC_HOST))

class: $(STAMP) browser
	$(PY) -m deploy.serve_class --processes $(PROCESSES) --address $(ADDRESS) --port $(PORT) \
	  $(if $(PUBLIC_HOST),--public-host $(PUBLIC_HOST))

test: $(STAMP) browser
	$(PY) -m pytest

$(STAMP): requirements.txt requirements-dev.txt
	@echo "Installing the app, the training scripts and the test tools into $(VENV) (README, 'Set-up')."
	@echo "The largest part is PyTorch with torchvision, for training and the tests: on Linux pip takes"
	@echo "its CUDA build, about 6 GB with the NVIDIA libraries, several minutes; the app server itself"
	@echo "runs the networks with ONNX Runtime and never imports torch. Progress follows."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements-dev.txt
	touch $@

# Debian's Chromium for the Playwright test (never `playwright install`: it downloads a browser),
# Debian's HAProxy for several app processes behind one address, and strace for the test that
# records the server's network calls at the system-call level (tests/app/test_no_outside_calls.py).
browser:
	@{ command -v chromium && { command -v haproxy || test -x /usr/sbin/haproxy; } && command -v strace; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver haproxy strace >/dev/null; }
