#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: set up, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"  # nbgrader calls alembic by name
exec .venv/bin/python -m pytest "$@"
