#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests beside the code and the
# root-only integration tests in tests/, with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run --silent lint
node --test --test-concurrency=1 dist/src dist/tests
