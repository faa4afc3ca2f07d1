#!/usr/bin/env bash
# skiff's main job at this stage: a busybox image imported, named, listed, saved, removed,
# loaded back and checked. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

export SKIFF_ROOT=${SKIFF_ROOT:-/var/lib/skiff}
skiff() { node bin/skiff.js "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ skiff %s\033[0m\n' "$*"; skiff "$@"; }

echo "store: $SKIFF_ROOT"
bash scripts/make-busybox-rootfs.sh "$work/rootfs.tar"
step import -c 'CMD ["sh"]' -m 'busybox-static rootfs' "$work/rootfs.tar" demo/base:1
step tag demo/base:1 demo/base:latest
step import "$work/rootfs.tar" demo/copy:1
step images
step history demo/base:1
step save -o "$work/base.tar" demo/base:1
ls -l "$work/base.tar"
step rmi demo/base:1 demo/base:latest
step load -i "$work/base.tar"
step images demo/base
step system check
