#!/usr/bin/env bash
# Install the real client libraries (LangChain, LlamaIndex, huggingface_hub), one venv per family because their
# cohere pins conflict, from the locks in .ci/clients/; print the folder holding them. Reuses a finished install.
set -euo pipefail
cd "$(dirname "$0")"
APPS=${EMBEDRANK_APPS_DIR:-$HOME/.cache/embedrank-apps}
dest="$APPS/clients"
mkdir -p "$dest"
for lock in clients/*.txt; do
  family=$(basename "$lock" .txt)
  venv="$dest/$family"
  stamp="$venv/.installed"
  # The stamp holds the lock's hash: a changed lock reinstalls that family only.
  want=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== pip: $family clients into $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$lock" >&2
    echo "$want" >"$stamp"
  fi
done
# LangChain's default OpenAIEmbeddings needs tiktoken's cl100k_base, which offline cannot be downloaded;
# llama-index-core ships a copy (named by tiktoken's cache key), so both families read it from here.
"$dest/llamaindex/bin/python" - "$dest/tiktoken_cache" >&2 <<'EOF'
import shutil, sys
from pathlib import Path
import llama_index.core
shutil.copytree(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache", sys.argv[1], dirs_exist_ok=True)
EOF
echo "$dest"
