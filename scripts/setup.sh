#!/usr/bin/env bash
# Create .venv and install genlab with everything it needs, offline-friendly.
# The pinned CPU torch goes in first so that no later requirement pulls a multi-GB CUDA
# build; if a torch is already importable in the venv (e.g. your own CUDA build), it is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install -q "torch==${GENLAB_TORCH_VERSION:-2.13.0}"
fi
.venv/bin/pip install -q -e ".[all,dev,ray]"
