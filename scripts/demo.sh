#!/usr/bin/env bash
# skiff's main job at this stage: a busybox image imported, named, listed, saved, removed,
# loaded back; containers run from it; pushed to a registry on loopback and pulled into a
# second store; an app built from a two-stage Dockerfile (FROM the registry's copy of the base;
# rebuilt from the cache, then again with a file changed), deployed behind HAProxy, released
# again and rolled back; then the docker CLI and docker-compose drive the same store through
# `skiff system service`. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

export SKIFF_ROOT=${SKIFF_ROOT:-/var/lib/skiff}
skiff() { bin/skiff "$@"; }
work=$(mktemp -d)
cleanup() {
  bin/skiff rm -f demo-web demo-db >/dev/null 2>&1 || true
  bin/skiff network rm demo-net >/dev/null 2>&1 || true
  bin/skiff service rm demo-app >/dev/null 2>&1 || true
  [ -n "${registry_pid:-}" ] && kill "$registry_pid" 2>/dev/null
  if [ -n "${service_pid:-}" ]; then
    (cd "$work/compose" && docker-compose -p demo down -v >/dev/null 2>&1) || true
    kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  fi
  [ -d "$work/pulled" ] && bin/skiff --root "$work/pulled" system reset -f >/dev/null 2>&1
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

# A registry on loopback: push sends what it lacks, pull into a second store fetches it.
port=15000
bin/skiff registry serve --addr 127.0.0.1:$port --root "$work/registry" &
registry_pid=$!
until busybox wget -q -O /dev/null http://127.0.0.1:$port/v2/ 2>/dev/null; do sleep 0.1; done
step push demo/base:1 127.0.0.1:$port/demo/base:1
step push demo/base:1 127.0.0.1:$port/demo/base:1
step --root "$work/pulled" pull 127.0.0.1:$port/demo/base:1
step --root "$work/pulled" images

# Build: two versions of a small web app from one Dockerfile of two stages (the page is made
# in a stage FROM the registry's copy of the base, by a heredoc script); the second build
# reuses every step its build arg does not reach, and a third says which file it saw change.
mkdir -p "$work/app/www"
echo ok >"$work/app/www/up"
cat >"$work/app/Dockerfile" <<DOCKERFILE
FROM 127.0.0.1:$port/demo/base:1 AS page
ARG VERSION=1
RUN <<EOF
mkdir -p /out
echo "hello from app v\$VERSION" > /out/index.html
EOF

FROM demo/base:1
COPY --link www/ /www/
COPY --from=page /out/ /www/
CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
DOCKERFILE
step build -t demo/app:v1 "$work/app"
step build -t demo/app:v2 --build-arg VERSION=2 --explain-cache "$work/app"
echo "ok, still" >"$work/app/www/up"
step build -t demo/app:v2 --build-arg VERSION=2 --explain-cache "$work/app"
step history demo/app:v2

# Deploy: the two versions behind HAProxy; a release, a rollback.
get() { printf '\n$ busybox wget -qO- http://127.0.0.1:18081/\n'; busybox wget -qO- http://127.0.0.1:18081/; }
step deploy demo-app demo/app:v1 --replicas 2 --port 127.0.0.1:18081:8080 --health /up --drain 1s
get
step deploy demo-app demo/app:v2 --replicas 2 --port 127.0.0.1:18081:8080 --health /up --drain 1s
get
step services
step releases demo-app
step diff demo-app 1 2
step rollback demo-app
get
step service rm demo-app

# The Docker API: the docker CLI (a client only; no dockerd) and docker-compose drive the same
# store through skiff's service on a unix socket.
bin/skiff system service "unix://$work/docker.sock" 2>/dev/null &
service_pid=$!
until [ -S "$work/docker.sock" ]; do sleep 0.1; done
export DOCKER_HOST="unix://$work/docker.sock" DOCKER_CONFIG="$work/docker-config"
mkdir -p "$DOCKER_CONFIG" "$work/compose"
client() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
client docker run --rm demo/base:1 echo hello through the Docker API
client docker images
cat >"$work/compose/docker-compose.yml" <<'COMPOSE'
version: "3.8"
services:
  db:
    image: demo/base:1
    command: ["sh", "-c", "mkdir -p /www && echo db is up > /www/index.html && httpd -f -p 5432 -h /www"]
  web:
    image: demo/app:v2
    depends_on: [db]
    ports: ["127.0.0.1:18082:8080"]
COMPOSE
cd "$work/compose"
client docker-compose -p demo up -d
client docker-compose -p demo ps
printf '\n$ busybox wget -qO- http://127.0.0.1:18082/\n'
busybox wget -qO- http://127.0.0.1:18082/
client docker-compose -p demo exec -T web wget -qO- http://db:5432/
client docker-compose -p demo down -v
cd - >/dev/null
kill "$service_pid" && wait "$service_pid" || true
service_pid=

step system check
