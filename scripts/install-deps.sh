#!/usr/bin/env bash
# Installs what skiff and its tests need on Debian 12, skipping what is already there.
# Run as root. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (skiff mounts filesystems and runs containers)" >&2
  exit 1
fi

# Debian packages. Every program skiff runs (src/util/programs.ts) and every program its tests
# and benchmarks run (src/util/test-requirements.ts) comes from one of these; the test
# tests/install-deps.test.ts checks each against this list with `dpkg -S`.
packages=(
  # skiff: runtimes, networking, the proxy, compression, and base tools it calls
  crun runc conmon iproute2 nftables haproxy zstd xz-utils bzip2 tar gzip coreutils ca-certificates xfsprogs
  # tests and benchmarks: outside judges and anchors, tools that make their inputs
  podman buildah golang-github-containers-common skopeo umoci oci-image-tool docker-registry apache2-utils openssl
  busybox-static debootstrap wrk python3 python3-minimal util-linux bsdutils mount procps
  # clients of skiff system service (the docker CLI itself is handled below)
  docker-compose python3-docker gcc libc6-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The docker CLI, which tests/docker-cli.test.ts drives skiff's Docker API with. These machines
# have Docker's static client in /usr/local/bin, owned by no package; Debian's docker.io is
# installed only when no docker is found. That package also ships dockerd, which must never
# run here (skiff is the engine): policy-rc.d keeps its postinst from starting it, and the
# units are disabled in case the init system started them anyway.
if ! command -v docker >/dev/null; then
  echo "install-deps: installing docker.io (for its docker CLI; dockerd stays off)"
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  systemctl disable --now docker docker.socket 2>/dev/null || true
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "install-deps: Node.js 20 or newer is needed" >&2
  exit 1
fi

# npm packages exactly as the lock file says; rebuilt only when the lock file changed.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.skiff-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.skiff-lock
fi
npm run --silent build
