# shellcheck shell=bash
# The speed figures the README quotes, measured on the e2e stack (printed, never asserted: the machine is shared).
# Sourced by run.sh after failures.sh, whose e2e_pulumi, e2e_config and large_csv it uses.

# seconds_since START: wall time since START (from `date +%s.%N`), to a tenth of a second.
seconds_since() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }

timings_checks() {
  local t previous preview noop
  t=$(date +%s.%N)
  e2e_pulumi 120 preview --expect-no-changes >/dev/null || return 1
  preview=$(seconds_since "$t")
  previous=$(e2e_config get seedCsv)
  large_csv "$WORK/million.csv" 1000000 || return 1
  e2e_config set seedCsv "$WORK/million.csv" || return 1
  e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  # What a user runs: `pulumi up --yes`, preview included, with nothing to change.
  t=$(date +%s.%N)
  e2e_pulumi 300 up --yes --expect-no-changes >/dev/null || return 1
  noop=$(seconds_since "$t")
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  echo "timings: preview (no changes, 6-row CSV) ${preview}s; up --yes with nothing to change (1M-row CSV) ${noop}s"
  TIMINGS="preview ${preview}s, no-op up of 1M rows ${noop}s"
}

timing_steps() {
  step timings timings_checks
  [[ -z ${TIMINGS:-} ]] || say "timings: $TIMINGS"
}
