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
# rapidocr depends on the CPU package `onnxruntime`; it and `onnxruntime-gpu` (or faiss-cpu and
# faiss-gpu) share one module name and the last installed wins: keep only the GPU builds, which run
# on the CPU when no GPU is present.
for cpu_pkg in onnxruntime faiss-cpu; do
  if $PIP show -q "$cpu_pkg" >/dev/null 2>&1; then
    $PIP uninstall -q -y "$cpu_pkg"
    REINSTALL=1
  fi
done
if [ "${REINSTALL:-0}" = 1 ]; then
  $PIP install -q --force-reinstall --no-deps "onnxruntime-gpu==1.31.1" "faiss-gpu==1.15.1"
fi
"$VENV/bin/python" - <<'PY'
import faiss, onnxruntime
providers = onnxruntime.get_available_providers()
assert "CPUExecutionProvider" in providers, providers
print(f"onnxruntime {onnxruntime.__version__} providers {providers}; faiss {faiss.__version__} GPUs {faiss.get_num_gpus()}")
PY
echo "environment ready: $VENV"
