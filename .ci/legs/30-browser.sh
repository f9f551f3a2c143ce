#!/usr/bin/env bash
# CI leg: the end-to-end journeys in a real Chromium (Debian's package, never a downloaded browser),
# and sign-in through a real OpenID Connect provider process (tests/idp/provider: oidc-provider on Node.js).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if ! command -v npm >/dev/null; then
  echo "installing Debian's nodejs and npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
# The provider's packages, exactly as locked (package-lock.json), from the npm registry.
npm ci --prefix tests/idp/provider --no-audit --no-fund --loglevel=error

# axe-core for the accessibility test: the npm package pinned in package-lock.json, installed from
# the registry into node_modules and served to Chromium by the test (never from a CDN).
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi

.venv/bin/python -m pytest tests/browser tests/idp -m "browser or idp" -p no:cacheprovider -q
