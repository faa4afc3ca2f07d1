#!/usr/bin/env bash
# Makes a tiny root filesystem from Debian's busybox-static and writes it as a tar.
# Usage: make-busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-busybox-rootfs: $busybox not found; install the Debian package busybox-static" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/www,home}
chmod 1777 "$dir/tmp"
cp "$busybox" "$dir/bin/busybox"
# Relative links: `busybox --install -s` makes absolute ones, which point at the host when
# the tree is looked at from outside a container.
for applet in $("$busybox" --list-full); do
  case "$applet" in bin/busybox) continue ;; esac
  d=$(dirname "$applet")
  rel=$(realpath -m --relative-to="$dir/$d" "$dir/bin/busybox")
  [ -e "$dir/$applet" ] || ln -s "$rel" "$dir/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
echo 'hello from skiff' > "$dir/var/www/index.html"
tar -C "$dir" --numeric-owner --sort=name --mtime='2024-01-01 00:00:00' -cf "$out" .
