#!/usr/bin/env bash
# skiff's main job at this stage: a busybox image imported, named, listed, saved, removed,
# loaded back and checked. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

export SKIFF_ROOT=${SKIFF_ROOT:-/var/lib/skiff}
skiff() { bin/skiff "$@"; }
work=$(mktemp -d)
cleanup() {
  bin/skiff rm -f demo-web demo-db >/dev/null 2>&1 || true
  bin/skiff network rm demo-net >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A demo run earlier that was interrupted may have left these behind.
cleanup; work=$(mktemp -d)
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

# Containers: a foreground run, a web server with a published port, two containers that find
# each other by name on a user network.
step run --rm demo/base:1 echo hello from a container
step run -d --name demo-web -p 127.0.0.1:18080:80 demo/base:1 httpd -f -p 80 -h /var/www
sleep 0.3
printf '\n$ busybox wget -qO- http://127.0.0.1:18080/\n'; busybox wget -qO- http://127.0.0.1:18080/
step ps
step network create demo-net
step run -d --name demo-db --network demo-net demo/base:1 sleep 300
step run --rm --network demo-net demo/base:1 ping -c1 demo-db
step exec demo-db ps
step rm -f demo-web demo-db
step network rm demo-net
step system check
