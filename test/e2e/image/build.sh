#!/usr/bin/env bash
# Builds the three images the e2e node runs, as OCI archives for `ctr images import` (there is no registry):
# - postgres: PostgreSQL 17 from Debian trixie's packages, unpacked: postgresql-17 (the server, initdb, pg_ctl,
#   pg_controldata, pg_rewind, ...) and postgresql-client-17 (psql, pg_dump, pg_restore, pg_isready, pg_basebackup,
#   ...), so that the client tools are of the server's version (this bookworm machine has PostgreSQL 15 only); the
#   shared libraries they need with trixie's own libc, tzdata, the C.UTF-8 locale, busybox-static (from this
#   machine) for the shell and coreutils, and our entrypoint.sh. No JIT: llvmjit and its 30 MB of LLVM are left out;
# - pause: Debian's static catatonit in pause mode (-P), the pod sandbox image;
# - exits: busybox-static, whose container prints a FATAL line and exits with status 3 whatever it is asked to run:
#   the image that cannot start of the failed-rollout step;
# - cnpg: the CloudNativePG operator, its manager binary (built by ../toolchain/build.sh cloudnative-pg) as /manager,
#   named as the release manifest names it (ghcr.io/cloudnative-pg/cloudnative-pg:$CNPG_VERSION), so that neither
#   its Deployment (once its pull policy is not Always) nor the instance pods' bootstrap-controller init container,
#   which runs `/manager bootstrap /controller/manager` of that image, pull it.
# Trixie's packages are resolved and fetched with a scratch APT configuration (its own sources list, naming the
# Debian mirror this machine's APT uses; its own state and cache in $SALES_DB_E2E_CACHE/apt-trixie; an empty dpkg
# status) and unpacked with dpkg-deb: no maintainer script runs, and this machine's APT and dpkg are left alone.
# An archive is cached in $SALES_DB_E2E_CACHE/images under a hash of its inputs (these scripts, the .deb files'
# sha256s, the host packages copied from) and rebuilt only when they change.
# Prints `export E2E_*_IMAGE=… E2E_*_ARCHIVE=…` lines for eval; logs go to stderr.
# Needs root (file ownership in the layer, chroot), the apt packages of ../cluster/packages.sh and the manager binary.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"
PG_MAJOR=17
SUITE=trixie
PREFIX=/usr/lib/postgresql/$PG_MAJOR
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
OUT=$SALES_DB_E2E_CACHE/images
APT_DIR=$SALES_DB_E2E_CACHE/apt-$SUITE
mkdir -p "$OUT" "$APT_DIR"

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() {
  log "$*"
  exit 1
}

CNPG_MANAGER=$E2E_IMAGE_BIN/cnpg-manager
[[ -x $CNPG_MANAGER ]] || fail "$CNPG_MANAGER is missing: run ../toolchain/build.sh cloudnative-pg first"

# One build at a time: parallel runs share the archives and the scratch APT state.
exec 8>"$OUT/.lock"
flock -w 900 8 || fail "another image build held $OUT/.lock for 15 minutes"
rm -rf "$OUT"/build.* # what an interrupted build left

# --- trixie's packages, through a scratch APT configuration ------------------------------------------------------
# Its one source is the Debian mirror this machine's APT is configured with, with the suite trixie.
# shellcheck disable=SC2016 # APT's own $(FIELD) syntax
mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Origin: Debian' 'Label: Debian' | head -n1)
[[ -n $mirror ]] || fail "no Debian mirror in this machine's APT sources"
[[ -s $KEYRING ]] || fail "$KEYRING is missing: install debian-archive-keyring"
mkdir -p "$APT_DIR"/{empty,state,cache,log}
: >"$APT_DIR/status"
echo "deb [signed-by=$KEYRING] ${mirror%/} $SUITE main" >"$APT_DIR/sources.list"
# Nothing of the host's configuration is read (Dir::Etc::Parts is the empty folder); the dpkg status is empty.
cat >"$APT_DIR/apt.conf" <<EOF
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$APT_DIR/empty";
Dir::Etc::SourceList "$APT_DIR/sources.list";
Dir::Etc::SourceParts "$APT_DIR/empty";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$APT_DIR/empty";
Dir::State "$APT_DIR/state";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR/cache";
Dir::Log "$APT_DIR/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Retries "3";
APT::Sandbox::User "root";
Debug::NoLocking "true";
EOF
export APT_CONFIG=$APT_DIR/apt.conf
# Refreshed on every build (about 1 s when nothing changed); a machine that cannot reach the mirror builds from the
# lists it has.
if ! timeout -k 10 300 apt-get update -qq --error-on=any >&2; then
  compgen -G "$APT_DIR/state/lists/*_Packages*" >/dev/null || fail "apt-get update of $SUITE failed"
  log "apt-get update of $SUITE failed: using the lists of $(date -r "$APT_DIR/state/lists" +%F)"
fi

# deps PKG...: the first alternative of each of their Depends and Pre-Depends, without versions.
deps() {
  apt-cache show --no-all-versions "$@" | awk '/^(Pre-)?Depends: / {
    sub(/^[^:]*: /, ""); n = split($0, d, ", ")
    for (i = 1; i <= n; i++) { a = d[i]; sub(/ *[|(].*/, "", a); sub(/:any$/, "", a); print a }
  }'
}
# PACKAGES: the two PostgreSQL packages, tzdata (the server uses the system's time zones), libc-bin (for its
# C.UTF-8 locale and `locale`) and, transitively, every shared library package (Section libs) they depend on, but
# LLVM (the JIT). Their other dependencies (postgresql-common, perl, debconf, ...) are packaging, not needed to run.
PACKAGES=("postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR" tzdata libc-bin)
declare -A seen
for p in "${PACKAGES[@]}"; do seen[$p]=1; done
level=("${PACKAGES[@]}")
while ((${#level[@]})); do
  candidates=()
  for p in $(deps "${level[@]}" | sort -u); do
    [[ -z ${seen[$p]:-} && $p != libllvm* ]] && candidates+=("$p")
  done
  level=()
  ((${#candidates[@]})) || break
  for p in $(apt-cache show --no-all-versions "${candidates[@]}" |
    awk '/^Package: /{p = $2} /^Section: libs$/{print p}'); do
    seen[$p]=1
    level+=("$p")
  done
  PACKAGES+=("${level[@]}")
done
# "package version sha256" of each, from the signed index: what the archive's hash covers.
DEB_HASHES=$(apt-cache show --no-all-versions "${PACKAGES[@]}" |
  awk '/^Package: /{p = $2} /^Version: /{v = $2} /^SHA256: /{print p, v, $2}' | LC_ALL=C sort) ||
  fail "apt-cache show failed for: ${PACKAGES[*]}"
((${#PACKAGES[@]} == $(wc -l <<<"$DEB_HASHES"))) || fail "not every package is in the $SUITE index: ${PACKAGES[*]}"
PG_DEB_VERSION=$(awk -v p="postgresql-$PG_MAJOR" '$1 == p {print $2}' <<<"$DEB_HASHES")
PG_VERSION=${PG_DEB_VERSION%%-*} # 17.12-0+deb13u1 -> 17.12, the image's tag

# A hash of everything that goes into an image: these scripts, the trixie packages, the host packages copied from,
# the operator's binary.
inputs_hash() {
  {
    cat "$HERE/build.sh" "$HERE/entrypoint.sh"
    dpkg-query -W -f '${Package} ${Version}\n' busybox-static catatonit umoci
    echo "$DEB_HASHES"
    sha256sum <"$CNPG_MANAGER"
  } | sha256sum | cut -c1-16
}

# pack NAME TAG ROOTFS_FN CONFIG_ARGS...: runs ROOTFS_FN DIR to fill the rootfs, then writes $OUT/NAME-<hash>.tar,
# an image named $REPOSITORY:TAG (default localhost/sales-db-e2e/NAME).
pack() {
  local name=$1 tag=$2 fill=$3 hash archive tmp repository=${REPOSITORY:-localhost/sales-db-e2e/$1}
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
    "$fill" "$tmp/bundle/rootfs" "$tmp"
    umoci repack --no-history --image "$tmp/oci:$tag" "$tmp/bundle"
    umoci config --no-history --image "$tmp/oci:$tag" --config.workingdir / "$@"
    umoci gc --layout "$tmp/oci"
    tar -C "$tmp/oci" -cf "$tmp/image.tar" .
    mv "$tmp/image.tar" "$archive"
    rm -rf "$tmp"
    log "$name: built in $((SECONDS - start))s -> $archive ($(du -h "$archive" | cut -f1))"
  fi
  # Archives of other inputs go once unused for 2 hours, not at once: another work tree's run (other scripts, so
  # another hash) may still import its own when its node restarts. A run lasts at most an hour; using an archive
  # touches it.
  touch "$archive"
  find "$OUT" -maxdepth 1 -name "$name-*.tar" ! -name "${archive##*/}" -mmin +120 -delete
  local upper=${name^^}
  echo "export E2E_${upper}_IMAGE=$repository:$tag E2E_${upper}_ARCHIVE=$archive"
}

# check_postgres ROOTFS: every program and module of PostgreSQL finds its shared libraries inside the rootfs, and
# the programs the chart, backups and CloudNativePG run start and report the packaged version (a missing library
# fails the build, not the run).
check_postgres() {
  local r=$1 f missing program version
  for f in "$r$PREFIX"/bin/* "$r$PREFIX"/lib/*.so; do
    missing=$(chroot "$r" /lib64/ld-linux-x86-64.so.2 --list "${f#"$r"}" 2>&1 | grep -F 'not found') || true
    [[ -z $missing ]] || fail "${f#"$r"} needs what the image lacks: $missing"
  done
  for program in postgres initdb pg_ctl pg_controldata pg_rewind pg_basebackup pg_dump pg_restore psql pg_isready; do
    version=$(chroot "$r" "$PREFIX/bin/$program" --version) || fail "$program --version failed in the image"
    [[ $version == *" $PG_VERSION "* ]] || fail "$program reports $version, not $PG_VERSION"
  done
}

postgres_rootfs() {
  local r=$1 debs=$2/debs deb
  mkdir -p "$debs"
  log "postgres: fetching ${#PACKAGES[@]} packages of $SUITE (PostgreSQL $PG_DEB_VERSION)"
  (cd "$debs" && timeout -k 10 600 apt-get download -qq "${PACKAGES[@]}" >&2) || fail "apt-get download failed"
  for deb in "$debs"/*.deb; do
    case ${deb##*/} in
      # The C.UTF-8 locale, and `locale`, which initdb runs to list the system's locales.
      libc-bin_*) dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$r" ./usr/lib/locale/C.utf8 ./usr/bin/locale ;;
      *) dpkg-deb -x "$deb" "$r" ;;
    esac
  done
  # trixie's /usr is merged: the programs' loader is /lib64/ld-linux-x86-64.so.2.
  ln -s usr/lib64 "$r/lib64"
  ln -s usr/lib "$r/lib"
  # Documentation, translations and the JIT (LLVM is not in the image).
  rm -rf "$r"/usr/share/{doc,man,info,lintian,bug,locale} "$r/usr/share/postgresql/$PG_MAJOR/man" \
    "$r$PREFIX/lib/bitcode" "$r$PREFIX"/lib/llvmjit*
  mkdir -p "$r/bin" "$r/usr/local/bin" "$r/etc" "$r/tmp" "$r/var/run/postgresql" "$r/var/lib/postgresql/data"
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
  check_postgres "$r"
}

pause_rootfs() {
  cp /usr/bin/catatonit "$1/catatonit"
}

pack postgres "$PG_VERSION" postgres_rootfs \
  --config.user 999:999 \
  --config.env PATH=$PREFIX/bin:/usr/local/bin:/usr/bin:/bin \
  --config.env PGDATA=/var/lib/postgresql/data --config.env LANG=C.UTF-8 \
  --config.exposedports 5432/tcp --config.volume /var/lib/postgresql/data \
  --config.entrypoint /usr/local/bin/docker-entrypoint.sh --config.cmd postgres \
  --config.stopsignal SIGINT
catatonit_version=$(dpkg-query -W -f '${Version}' catatonit)
pack pause "catatonit-${catatonit_version//[^A-Za-z0-9.-]/_}" pause_rootfs \
  --config.user 65535:65535 --config.entrypoint /catatonit --config.entrypoint -P

exits_rootfs() {
  cp /bin/busybox "$1/busybox"
}
# Tagged as a PostgreSQL 17 release would be: config takes it, and only running it tells.
pack exits 17.0-exits exits_rootfs --config.user 999:999 --config.entrypoint /busybox --config.entrypoint sh \
  --config.entrypoint -c --config.entrypoint 'echo "FATAL: this image exits at once (an e2e image)" >&2; exit 3' \
  --config.entrypoint exits

# The operator's image as upstream's Dockerfile makes it (on a distroless base): the binary is
# /operator/manager_<GOARCH> and /manager a link to it. The operator finds the architectures it can give instance
# pods by globbing operator/manager_* (without it, every Cluster fails with "invalid architecture: amd64"). A passwd
# names the release manifest's user (10001) and distroless's nonroot (65532).
cnpg_rootfs() {
  local r=$1
  mkdir -p "$r/operator" "$r/etc" "$r/tmp"
  install -m 0755 "$CNPG_MANAGER" "$r/operator/manager_amd64"
  ln -s operator/manager_amd64 "$r/manager"
  chmod 1777 "$r/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\ncnpg:x:10001:10001:cnpg:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\ncnpg:x:10001:\nnonroot:x:65532:\n' >"$r/etc/group"
  [[ $("$r/manager" version 2>/dev/null) == *"$CNPG_VERSION"* ]] || fail "$CNPG_MANAGER does not report version $CNPG_VERSION"
}
REPOSITORY=ghcr.io/cloudnative-pg/cloudnative-pg pack cnpg "$CNPG_VERSION" cnpg_rootfs --config.user 10001:10001 \
  --config.entrypoint /manager
