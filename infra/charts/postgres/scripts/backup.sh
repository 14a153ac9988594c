#!/bin/sh
# The backup CronJob's command, run with the server's own image (pg_dump matches the server's version): one
# pg_dump of the database into the backups volume. It is written under a temporary name and renamed only when
# complete, so a failed run never replaces a good backup; then only the newest $BACKUP_KEEP are kept.
# Env: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (libpq's; with the backups only, PGHOSTADDR, PGSSLMODE and
# PGSSLROOTCERT too), BACKUP_DIR, BACKUP_KEEP.
set -eu

# Backups only: PGHOSTADDR is the Service's address from its environment variable, which Kubernetes leaves as
# written, $(…), in a pod created before the Service existed; then libpq resolves PGHOST's name instead.
case "${PGHOSTADDR-}" in "\$("*) unset PGHOSTADDR ;; esac

name="$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$BACKUP_DIR/$name.partial"
# What a run that was killed left (no two backups run at once: the CronJob forbids it).
rm -f "$BACKUP_DIR"/*.partial
trap 'rm -f "$partial"' EXIT
echo "backup $name: pg_dump of database $PGDATABASE on $PGHOST:$PGPORT"
# Bounded: a lock held on a table (a load's swap) makes the run fail after a minute rather than wait.
pg_dump --format=custom --lock-wait-timeout=60s --file="$partial"
mv "$partial" "$BACKUP_DIR/$name"
trap - EXIT

# Names end in a UTC time stamp: their order is their age.
backups() {
  for file in "$BACKUP_DIR"/*-????????T??????Z.dump; do
    if [ -f "$file" ]; then echo "${file##*/}"; fi
  done
}
backups | sort -r | tail -n +"$((BACKUP_KEEP + 1))" | while read -r old; do
  rm -f "$BACKUP_DIR/$old"
  echo "removed $old (keeping the newest $BACKUP_KEEP)"
done
echo "backup $name written ($(wc -c <"$BACKUP_DIR/$name") bytes); the volume holds:"
backups
