# shellcheck shell=bash
# The speed figures docs/performance.md quotes, measured on the e2e stack (printed, never asserted: the machine is shared).
# Sourced by run.sh after failures.sh, whose e2e_pulumi, e2e_config and large_csv it uses.

# seconds_since START: wall time since START (from `date +%s.%N`), to a hundredth of a second.
seconds_since() { echo "$(date +%s.%N) $1" | awk '{printf "%.2f", $1 - $2}'; }
# timed_runs N COMMAND...: runs COMMAND N times; prints each run's seconds, then the best (a shared machine's load
# only ever adds time).
timed_runs() {
  local n=$1 t all="" i
  shift
  for ((i = 0; i < n; i++)); do
    t=$(date +%s.%N)
    "$@" >/dev/null || return 1
    all="$all $(seconds_since "$t")"
  done
  echo "${all# } s (best $(tr ' ' '\n' <<<"${all# }" | sort -n | head -n 1) s)"
}

timings_checks() {
  local previous preview noop
  preview=$(timed_runs 3 e2e_pulumi 120 preview --expect-no-changes) || return 1
  previous=$(e2e_config get seedCsv)
  large_csv "$WORK/million.csv" 1000000 || return 1
  e2e_config set seedCsv "$WORK/million.csv" || return 1
  e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  # What a user runs: `pulumi up --yes`, preview included, with nothing to change.
  noop=$(timed_runs 3 e2e_pulumi 300 up --yes --expect-no-changes) || return 1
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  TIMINGS="preview (no changes, 6-row CSV) ${preview}; up --yes with nothing to change (1M-row CSV) ${noop}"
  TIMINGS="$TIMINGS; load average $(cut -d ' ' -f 1 /proc/loadavg)"
  echo "timings: $TIMINGS"
}

timing_steps() {
  step timings timings_checks
  [[ -z ${TIMINGS:-} ]] || say "timings: $TIMINGS"
}
