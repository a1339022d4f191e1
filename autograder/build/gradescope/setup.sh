#!/usr/bin/env bash
# Gradescope runs this once, as root and with network, when it builds the autograder image.
# Everything grading needs is installed here, pinned; nothing is downloaded at grading time.
# TORCH_INDEX: where the CPU build of torch comes from (set it empty to use PyPI and pip's own
# configuration only, as the offline container test does).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
TORCH_INDEX="${TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap ca-certificates
python3.11 -m venv "$ROOT/venv"
extra=()
if [ -n "$TORCH_INDEX" ]; then extra=(--extra-index-url "$TORCH_INDEX"); fi
# requirements.txt pins every package, transitive ones included: --no-deps installs exactly that
# list, and pip check fails the build if the list ever misses a dependency.
"$ROOT/venv/bin/pip" install --no-cache-dir --no-deps "${extra[@]}" -r "$HERE/requirements.txt"
"$ROOT/venv/bin/pip" check
# NLTK's punkt_tab data, for students who call plain nltk.word_tokenize(text) (it splits
# sentences first, which needs that data). Fetched now, at image build time, when the network
# allows; grading itself never downloads anything. /usr/local/share/nltk_data is on NLTK's search
# path and readable inside the sandbox (it shows /usr read-only). Without the data, a student
# whose tokenizer needs it is told to call nltk.word_tokenize(text, preserve_line=True).
if ! "$ROOT/venv/bin/python" -m nltk.downloader -q -d /usr/local/share/nltk_data punkt_tab; then
    echo "setup.sh: could not fetch NLTK's punkt_tab data (no network?); plain nltk.word_tokenize(text) will not work" >&2
fi
# Compile and import once now, so that the first submission does not pay for it.
"$ROOT/venv/bin/python" -c "import torch, numpy, hypothesis"
chmod 755 "$ROOT" "$ROOT/venv"
