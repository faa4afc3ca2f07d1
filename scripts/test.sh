#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests beside the code and the
# root-only integration tests in tests/, with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run --silent lint
node --test --test-concurrency=1 dist/src dist/tests
# The slow tests (a debootstrapped Debian base, apt-get in a RUN: a minute or two) skip in the
# run above and run here as their own step.
SKIFF_SLOW_TESTS=1 node --test dist/tests/build-debian.test.js
