#!/usr/bin/env bash
# Install Open WebUI 0.12.4 into its own venv (CPU torch first) and print the path of its CLI; reuses a finished install.
set -euo pipefail
APPS=${EMBEDRANK_APPS_DIR:-$HOME/.cache/embedrank-apps}
VERSION=${OPEN_WEBUI_VERSION:-0.12.4}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
dest="$APPS/open-webui-$VERSION"
stamp="$dest/.installed"
if [ ! -f "$stamp" ]; then
  echo "== pip: open-webui $VERSION into $dest" >&2
  rm -rf "$dest"
  mkdir -p "$APPS"
  "${PYTHON:-python3}" -m venv "$dest"
  # torch first and pinned: open-webui's unpinned torch would otherwise pull a multi-GB CUDA build.
  "$dest/bin/python" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" >&2
  "$dest/bin/python" -m pip install -q --disable-pip-version-check "open-webui==$VERSION" >&2
  touch "$stamp"
fi
echo "$dest/bin/open-webui"
