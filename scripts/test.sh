#!/usr/bin/env bash
# Installs what is missing, then runs every test with node's test runner: the unit tests beside
# the code (src/**/*.test.ts), the integration tests in tests/ and the slow one (a debootstrapped
# Debian base with apt-get in a RUN), one file at a time.
#
# Under CI (CI=true) nothing may be missing: a test that needs a program, root or a kernel
# feature fails instead of skipping (src/util/test-requirements.ts), the suite must run on crun
# rather than the runc fallback, and the run fails if any test was skipped that
# tests/allowed-skips.txt does not allow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run --silent lint

# Choosing the runtime applies the cgroup fix crun needs on a hybrid host, before any test runs.
info=$(bin/skiff system info --format json)
runtime=$(node -e 'console.log(JSON.parse(process.argv[1]).runtime.name)' "$info")
echo "test: containers run on $runtime"
if [ "${CI:-}" = true ] && [ "$runtime" != crun ]; then
  echo "test: under CI the suite must run on crun: $(node -e 'console.log(JSON.parse(process.argv[1]).runtime.notice)' "$info")" >&2
  exit 1
fi

# Files, not directories: `node --test DIR` works on Node 20 only, a list of files on all.
mapfile -t files < <(find dist/src dist/tests -name '*.test.js' | sort)
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT
SKIFF_SLOW_TESTS=1 node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./dist/tests/skip-reporter.js --test-reporter-destination="$skips" \
  "${files[@]}"
if [ "${CI:-}" = true ]; then
  node dist/tests/check-skips.js "$skips"
fi
