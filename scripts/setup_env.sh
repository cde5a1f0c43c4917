#!/usr/bin/env bash
# Build (or bring up to date) the project's virtual environment. Idempotent.
# torch/torchvision come first: they lie on this machine's local disk (see DESIGN.md §5, §12).
set -euo pipefail
PY=${1:-python3.11}
VENV=${2:-.venv}
if ! command -v "$PY" >/dev/null 2>&1; then PY=python3; fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
$PIP install -q "torch==2.14.1" "torchvision==0.29.1"
$PIP install -q -e ".[dev]"
# facenet-pytorch pins torch<2.3 and numpy<2 in its metadata but works with both: no deps.
$PIP install -q --no-deps "facenet-pytorch==2.6.0"
echo "environment ready: $VENV"
