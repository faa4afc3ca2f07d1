#!/usr/bin/env bash
# Tries the README's two commands as a new user would: clones this repository's committed HEAD
# into a temporary folder (no node_modules, no dist/, nothing uncommitted) and runs the demo
# and the whole test suite there, with CI=true so that no test may skip. Prints every stumble
# (a command that failed, an `Error:` line, a test that failed or was skipped) and exits
# non-zero when there was one. Run it before calling work done.
#
# Usage: scripts/fresh-machine-check.sh [--demo-only | --tests-only] [--keep]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
demo=1 tests=1 keep=0
for arg in "$@"; do
  case $arg in
    --demo-only) tests=0 ;;
    --tests-only) demo=0 ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--demo-only | --tests-only] [--keep]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /tmp/skiff-fresh-XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/skiff" || { echo "fresh: git clone failed" >&2; exit 1; }
cd "$work/skiff"
echo "fresh: $(git log -1 --format='%h %s') in $work/skiff"
stumbles=0

step() {
  local name=$1 log="$work/$1.log"
  shift
  echo "fresh: $name: $*"
  local started=$SECONDS
  "$@" >"$log" 2>&1
  local status=$?
  echo "fresh: $name: exit $status after $((SECONDS - started)) s (log: $log)"
  # What a user would have tripped over, whatever the exit status said.
  grep -nE '^Error:|^not ok|^✖|✖ failing|# (fail|skipped) [1-9]|NOT ALLOWED|requirement: ' "$log" | head -40
  if [ "$status" != 0 ]; then
    stumbles=$((stumbles + 1))
    echo "fresh: $name failed; its last lines:"
    tail -15 "$log"
  fi
}

# A fresh store for the demo, so images from earlier runs on this machine cannot help it.
# reset removes its containers, networks and mounts before the folder goes.
[ "$demo" = 1 ] && step demo env SKIFF_ROOT="$work/store" \
  bash -c 'bash scripts/demo.sh; s=$?; bin/skiff system reset -f >/dev/null 2>&1; exit $s'
[ "$tests" = 1 ] && step tests env CI=true bash scripts/test.sh

if [ "$stumbles" = 0 ]; then
  echo "fresh: no stumbles"
else
  echo "fresh: $stumbles commands failed"
  exit 1
fi
