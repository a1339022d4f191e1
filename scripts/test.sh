#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: set up, lint (ruff), then pytest. Extra arguments
# go to pytest, e.g. `bash scripts/test.sh -m unit` for one tier (tiers: README, "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"  # nbgrader calls alembic by name
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
