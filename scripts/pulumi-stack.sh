#!/usr/bin/env bash
# Run `pulumi preview|up` for a stack after checking what can be checked offline.
# Usage: scripts/pulumi-stack.sh preview|up STACK
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/pulumi-stack.sh preview|up STACK"
action=${1:?$usage}
stack=${2:?$usage}
case "$action" in
  preview | up) ;;
  *) echo "error: action must be preview or up, received '$action'" >&2; exit 2 ;;
esac

# Fail fast, without credentials, on a config mistake (names the key at fault).
.venv/bin/liveness-infra config check --stack "$stack"

if ! command -v pulumi >/dev/null 2>&1; then
  echo "error: the Pulumi CLI is not on PATH. Install it (https://www.pulumi.com/docs/iac/download-install/)," >&2
  echo "       log in to a backend (pulumi login, or pulumi login azblob://<container>), then re-run." >&2
  exit 2
fi

pulumi stack select --create "$stack" >/dev/null
if [ "$action" = preview ]; then
  exec pulumi preview --diff --stack "$stack"
fi
exec pulumi up --stack "$stack"
