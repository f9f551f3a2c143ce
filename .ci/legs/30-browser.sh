#!/usr/bin/env bash
# CI leg: the end-to-end journey in a real Chromium (Debian's package, never a downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

.venv/bin/python -m pytest tests/browser -m browser -p no:cacheprovider -q
