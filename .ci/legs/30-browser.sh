#!/usr/bin/env bash
# CI leg: the end-to-end journey in a real Chromium (Debian's package, never a downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# axe-core for the accessibility test: the npm package pinned in package-lock.json, installed from
# the registry into node_modules and served to Chromium by the test (never from a CDN).
if ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi

.venv/bin/python -m pytest tests/browser -m browser -p no:cacheprovider -q
