#!/usr/bin/env bash
# Installs what tests/n8n_templates/node/validate.cjs needs: n8n-workflow (npm ci from the lockfile) and
# the node/credential type descriptions of the n8n 2.8 line. The descriptions are read from the npm
# tarballs of n8n-nodes-base and @n8n/n8n-nodes-langchain (only their dist/types/*.json), because a full
# install of those packages pulls hundreds of MB of runtime dependencies the check never loads.
# Usage: tests/n8n_templates/node/install.sh   (needs node >= 20 and npm; idempotent)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

npm ci --no-audit --no-fund --loglevel=error

# The versions n8n 2.8.4 itself depends on; integrity pins make the download reproducible.
packs=(
  "n8n-nodes-base@2.8.1 sha512-3usMxCiLpXnNRcFK6qL/DQkVJhTGoRCa6DqRhYfnNF1zq8r/w1uZnGOR/9mRJIg9oo3cHuGvE+oi+kQyPJ/FZA=="
  "@n8n/n8n-nodes-langchain@2.8.1 sha512-f/+wbGZyHd7Rhc9VpC3EKYxrLwyTP6HkIg8Tizz609SsueoBxmTejwxfjRBLlK6nMCO6u/xeHoUFID3kBF7PLA=="
)
dest="$here/node_modules/.n8n-node-types"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"
for entry in "${packs[@]}"; do
  spec="${entry%% *}"
  want="${entry##* }"
  name="${spec%@*}"
  file="$(npm pack "$spec" --pack-destination "$tmp" --silent | tail -n 1)"
  got="sha512-$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$file")"
  if [[ "$got" != "$want" ]]; then
    echo "integrity mismatch for $spec: got $got" >&2
    exit 1
  fi
  out="$dest/${name//\//__}"
  mkdir -p "$out"
  tar -xzf "$tmp/$file" -C "$tmp" package/dist/types/nodes.json package/dist/types/credentials.json
  mv "$tmp/package/dist/types/nodes.json" "$tmp/package/dist/types/credentials.json" "$out/"
  rm -rf "$tmp/package"
  echo "$spec" > "$out/VERSION"
done
echo "n8n-workflow $(node -p 'require("n8n-workflow/package.json").version') and node types installed in $dest"
