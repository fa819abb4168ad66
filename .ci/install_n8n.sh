#!/usr/bin/env bash
# Install the n8n 2.8.4 CLI (the newest that runs on Node 20) and print its path; reuses a finished install.
# Its xlsx dependency points at a CDN tarball that cannot be reached: an npm override pins the registry
# release 0.18.5. npm_config_nodedir=/usr builds native modules against the system Node headers (where
# Debian's nodejs puts them; elsewhere npm fetches headers itself).
set -euo pipefail
APPS=${EMBEDRANK_APPS_DIR:-$HOME/.cache/embedrank-apps}
VERSION=${N8N_VERSION:-2.8.4}
dest="$APPS/n8n-$VERSION"
stamp="$dest/.installed"
if [ ! -f "$stamp" ]; then
  echo "== npm: n8n $VERSION into $dest" >&2
  rm -rf "$dest"
  mkdir -p "$dest"
  cat > "$dest/package.json" <<JSON
{"name": "embedrank-n8n", "private": true, "dependencies": {"n8n": "$VERSION"}, "overrides": {"xlsx": "0.18.5"}}
JSON
  if [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=${npm_config_nodedir:-/usr}; fi
  (cd "$dest" && npm install --no-audit --no-fund --loglevel=error >&2)
  touch "$stamp"
fi
echo "$dest/node_modules/.bin/n8n"
