#!/bin/sh
# The restore Job's command (sales-db creates the Job from the backup CronJob's template when restoreBackup
# changes): pg_restore of one backup into the database, in one transaction, so that a restore that fails leaves
# the database as it was. Every object in the backup is dropped and recreated; objects created since are kept.
# Env: as backup.sh, and BACKUP_NAME (a backup's file name, or `latest` for the newest).
set -eu

# Backups only: PGHOSTADDR is the Service's address from its environment variable, which Kubernetes leaves as
# written, $(…), in a pod created before the Service existed; then libpq resolves PGHOST's name instead.
case "${PGHOSTADDR-}" in "\$("*) unset PGHOSTADDR ;; esac

backups() {
  for file in "$BACKUP_DIR"/*-????????T??????Z.dump; do
    if [ -f "$file" ]; then echo "${file##*/}"; fi
  done
}
backup=$BACKUP_NAME
if [ "$backup" = latest ]; then backup=$(backups | tail -n 1); fi
if [ -z "$backup" ] || [ ! -f "$BACKUP_DIR/$backup" ]; then
  echo "error: no backup $BACKUP_NAME in the backups volume, which holds: $(backups | tr '\n' ' ')"
  exit 1
fi
echo "restoring $backup into database $PGDATABASE on $PGHOST:$PGPORT"
# Bounded: a table locked by a session (an application's open transaction) fails the restore after a minute.
PGOPTIONS="-c lock_timeout=60s" pg_restore --clean --if-exists --single-transaction --exit-on-error \
  --dbname="$PGDATABASE" "$BACKUP_DIR/$backup"
echo "restored $backup"
