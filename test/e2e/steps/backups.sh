# shellcheck shell=bash
# E2E step backup-restore: the backup CronJob, its volume, a failed backup that replaces nothing, and a restore of
# every table, first into the stack's own database and then, after a destroy and a lost data volume, into a fresh
# one. On a Retain stack of its own in a namespace the program creates. Sourced by run.sh; uses its new_stack,
# stack_on, own_stack, config_on, query, expect_rows, $ROWS_V1, $WORK and $E2E_POSTGRES_IMAGE.

BACKUP_NS=sales-db-e2e-backup
backup_stack() { stack_on e2e-backup "$@"; }
backup_output() { pulumi_ stack output --stack e2e-backup "$@"; }
# A fingerprint of both tables' rows: equal fingerprints, equal rows.
tables_digest() {
  query "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM sales t
    UNION ALL SELECT md5(string_agg(o::text, '|' ORDER BY o::text)) FROM orders o" "$BACKUP_NS"
}
# run_backup NAME [NAMESPACE]: a backup now, from the CronJob, as the README says; its status is the Job's.
run_backup() {
  local ns=${2:-$BACKUP_NS}
  kubectl -n "$ns" create job "$1" --from=cronjob/postgres-backup >/dev/null || return 1
  kubectl -n "$ns" wait --for=jsonpath='{.status.conditions[0].status}'=True "job/$1" --timeout=120s \
    >/dev/null || return 1
  kubectl -n "$ns" logs "job/$1"
  [[ $(kubectl -n "$ns" get job "$1" -o jsonpath='{.status.succeeded}') == 1 ]]
}
list_backups() { sh -c "$(backup_output listBackups)" | grep -o '[^ ]*\.dump$'; }

backup_restore() { own_stack e2e-backup "$BACKUP_NS" backup_restore_checks; }

backup_restore_checks() {
  local digest backups failed restored data_volume
  new_stack e2e-backup "namespace=$BACKUP_NS" pvcRetention=Retain 'backupSchedule=0 3 * * *' backupKeep=2 \
    seedWaitTimeout=120 "image=$E2E_POSTGRES_IMAGE" || return 1
  backup_stack up --yes --skip-preview || return 1
  [[ $(backup_output backupVolume) == postgres-backups ]] || return 1
  [[ $(kubectl -n "$BACKUP_NS" get pvc postgres-backups -o jsonpath='{.status.phase}') == Bound ]] || return 1
  # A table the application wrote, beside the seeded one.
  query "CREATE TABLE orders AS SELECT g AS id, 'order ' || g AS note, now() - g * interval '1 day' AS placed
    FROM generate_series(1, 1000) g" "$BACKUP_NS" || return 1
  digest=$(tables_digest) || return 1

  # Three backups, of which the volume keeps the newest two (backupKeep=2); names are stamped to the second.
  run_backup backup-1 && sleep 1 && run_backup backup-2 && sleep 1 && run_backup backup-3 || return 1
  backups=$(list_backups) || return 1
  echo "backups: $backups"
  [[ $(wc -l <<<"$backups") == 2 ]] || { echo "expected the newest 2 backups"; return 1; }

  # A backup that fails (the database refuses connections) is a failed Job, and replaces or leaves nothing.
  timeout -k 5 30 kubectl -n "$BACKUP_NS" exec postgres-0 -- \
    psql -U sales -d postgres -c "ALTER DATABASE sales_db ALLOW_CONNECTIONS false" || return 1
  failed=0
  run_backup backup-fails || failed=1
  timeout -k 5 30 kubectl -n "$BACKUP_NS" exec postgres-0 -- \
    psql -U sales -d postgres -c "ALTER DATABASE sales_db ALLOW_CONNECTIONS true" || return 1
  [[ $failed == 1 ]] || { echo "the backup of a database that refuses connections succeeded"; return 1; }
  [[ $(kubectl -n "$BACKUP_NS" get job backup-fails -o jsonpath='{.status.failed}') == 1 ]] || return 1
  [[ $(list_backups) == "$backups" ]] || { echo "the failed backup changed the volume: $(list_backups)"; return 1; }
  ! sh -c "$(backup_output listBackups)" | grep '\.partial$' || { echo "a partial backup was left"; return 1; }

  # The damage: the application's table dropped, the seeded one edited by hand. The restore brings both back.
  query "DROP TABLE orders; UPDATE sales SET quantity = 1" "$BACKUP_NS" || return 1
  config_on e2e-backup set restoreBackup latest || return 1
  backup_stack up --yes --skip-preview || return 1
  restored=$(backup_output restoredBackup) || return 1
  [[ $restored == "$(tail -n 1 <<<"$backups")" ]] || { echo "restored $restored, not the newest"; return 1; }
  [[ $(tables_digest) == "$digest" ]] || { echo "the restored tables differ from the backed-up ones"; return 1; }
  backup_stack up --yes --expect-no-changes >/dev/null || { echo "up after the restore has changes"; return 1; }
  backup_stack refresh --yes --expect-no-changes >/dev/null || { echo "refresh after the restore saw drift"; return 1; }

  # A destroy keeps both volumes (Retain); the data volume is then lost. The next up restores into a new one.
  data_volume=$(kubectl -n "$BACKUP_NS" get pvc postgres-data-postgres-0 -o jsonpath='{.spec.volumeName}') || return 1
  backup_stack destroy --yes --skip-preview || return 1
  kubectl -n "$BACKUP_NS" wait --for=delete pod/postgres-0 --timeout=120s || return 1
  [[ $(kubectl -n "$BACKUP_NS" get pvc postgres-backups -o jsonpath='{.status.phase}') == Bound ]] ||
    { echo "destroy took the backups"; return 1; }
  kubectl -n "$BACKUP_NS" delete pvc postgres-data-postgres-0 --wait --timeout=60s || return 1
  backup_stack up --yes --skip-preview || return 1
  [[ $(kubectl -n "$BACKUP_NS" get pvc postgres-data-postgres-0 -o jsonpath='{.spec.volumeName}') != "$data_volume" ]] ||
    { echo "the lost data volume came back"; return 1; }
  grep -q '^initialising a new cluster' <<<"$(timeout -k 5 30 kubectl -n "$BACKUP_NS" logs postgres-0)" ||
    { echo "the new up did not start from an empty data volume"; return 1; }
  [[ $(tables_digest) == "$digest" ]] || { echo "the fresh database does not hold the backed-up tables"; return 1; }
  backup_stack up --yes --expect-no-changes >/dev/null
}
