#!/usr/bin/env bash
# The pulumi commands the GitHub workflows run, in one place: the workflows call this script, and the e2e
# (test/e2e/steps/pr-flow.sh) rehearses the pull-request flow through it, so both run exactly the same commands.
#
# usage: scripts/stack.sh preview STACK REPORT   preview STACK; REPORT gets the pull-request comment (markdown)
#        scripts/stack.sh deploy STACK           create or update STACK
#        scripts/stack.sh review-up PR           create or update the review stack pr-PR, in namespace sales-db-pr-PR
#        scripts/stack.sh review-down PR         destroy the review stack pr-PR and remove it
# A stack missing from the backend is created (a fresh repository, a new pull request); its database password is
# generated on the first up unless the stack sets dbPassword.
#
# Environment: the backend's (PULUMI_ACCESS_TOKEN for Pulumi Cloud, or PULUMI_BACKEND_URL and
# PULUMI_CONFIG_PASSPHRASE), KUBECONFIG, and optionally
#   STACK_CONFIG_DIR  where the Pulumi.<stack>.yaml files are (default: the project root, as pulumi itself)
#   PULUMI_TIMEOUT    seconds one pulumi command may take before it is stopped (default 1200)
#   REVIEW_STACK_CONFIG  extra `key=value` settings (space-separated) every review stack gets on each review-up,
#                     e.g. "image=registry.example/postgres:17.6 storageClass=fast"
# Exit status: pulumi's; 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_DIR=${STACK_CONFIG_DIR:-$ROOT}
# Each run starts from a fresh clone, where a stack's file may be missing (review stacks) or lack the passphrase
# salt: use the secrets provider the stack's state records instead of making a new one.
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true PULUMI_SKIP_UPDATE_CHECK=true
# A repository secret that was never created reaches the job as an empty string: make it unset, or pulumi would
# take an empty PULUMI_CONFIG_PASSPHRASE for the passphrase instead of saying that it is missing.
for variable in PULUMI_ACCESS_TOKEN PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE; do
  [[ -n ${!variable:-} ]] || unset "$variable"
done

usage() {
  sed -n 's/^# usage: /       /p; s/^#        /       /p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

pulumi_() { timeout -k 10 "${PULUMI_TIMEOUT:-1200}" pulumi --cwd "$ROOT" --non-interactive --color never "$@"; }

# The arguments that name STACK and its config file.
stack_args() {
  printf '%s\n' --stack "$1"
  [[ $CONFIG_DIR == "$ROOT" ]] || printf '%s\n' --config-file "$CONFIG_DIR/Pulumi.$1.yaml"
}

stack_exists() {
  pulumi_ stack ls --json | grep -Eq "\"name\": *\"([^\"]*/)?$1\""
}

# Creates STACK in the backend when it has none.
ensure_stack() {
  local had_file=0
  stack_exists "$1" && return 0
  [[ -e $ROOT/Pulumi.$1.yaml ]] && had_file=1
  pulumi_ stack init "$1"
  # pulumi writes a new stack's file (the passphrase salt) next to Pulumi.yaml: keep it where the config is read.
  if [[ $CONFIG_DIR != "$ROOT" && $had_file == 0 && -f $ROOT/Pulumi.$1.yaml && ! -e $CONFIG_DIR/Pulumi.$1.yaml ]]; then
    mv "$ROOT/Pulumi.$1.yaml" "$CONFIG_DIR/Pulumi.$1.yaml"
  fi
}

# The seed's data-quality lines in pulumi's output: the summary, each rejected line, and how many more there are.
seed_lines() {
  grep -Eo '[^ ]+: [0-9]+ valid, [0-9]+ rejected.*|Invalid sale: line .*|… and [0-9]+ more: .*' "$1" | awk '!seen[$0]++'
}

preview() {
  local stack=$1 report=$2 output status=0 fence='```' args
  output=$(mktemp)
  ensure_stack "$stack"
  mapfile -t args < <(stack_args "$stack")
  pulumi_ preview "${args[@]}" --diff >"$output" 2>&1 || status=$?
  cat "$output"
  {
    printf '### pulumi preview of %s: %s\n\n' "$stack" "$([[ $status == 0 ]] && echo succeeded || echo "FAILED (exit $status)")"
    printf '**Seed data quality**\n\n%s\n%s\n%s\n\n' "$fence" "$(seed_lines "$output" || echo 'no validation: see the output')" "$fence"
    # A comment holds 65,536 characters at most: keep the end of a long output, where the summary is.
    printf '<details><summary>Full output</summary>\n\n%s\n%s\n%s\n</details>\n\n' "$fence" "$(tail -c 60000 "$output")" "$fence"
    printf '<!-- sales-db-preview:%s -->\n' "$stack"
  } >"$report"
  rm -f "$output"
  return "$status"
}

deploy() {
  local args
  ensure_stack "$1"
  mapfile -t args < <(stack_args "$1")
  pulumi_ up "${args[@]}" --yes --skip-preview
}

review_stack() {
  [[ $1 =~ ^[1-9][0-9]{0,9}$ ]] || { echo "not a pull-request number: $1" >&2; exit 2; }
  printf 'pr-%s' "$1"
}

review_up() {
  local stack args setting extra=()
  stack=$(review_stack "$1")
  ensure_stack "$stack"
  mapfile -t args < <(stack_args "$stack")
  # Its own namespace, and nothing kept after destroy: the volume goes with the stack.
  local settings=("namespace=sales-db-$stack" pvcRetention=Delete protect=false)
  read -r -a extra <<<"${REVIEW_STACK_CONFIG:-}"
  for setting in "${settings[@]}" "${extra[@]}"; do
    [[ $setting == *=* ]] || { echo "REVIEW_STACK_CONFIG: not key=value: $setting" >&2; exit 2; }
    pulumi_ config set "${args[@]}" "${setting%%=*}" "${setting#*=}"
  done
  pulumi_ up "${args[@]}" --yes --skip-preview
}

review_down() {
  local stack args
  stack=$(review_stack "$1")
  if ! stack_exists "$stack"; then
    echo "no review stack $stack: nothing to destroy"
    return 0
  fi
  mapfile -t args < <(stack_args "$stack")
  pulumi_ destroy "${args[@]}" --yes --skip-preview
  # Refuses while resources remain, so a failed destroy keeps the stack that knows them.
  pulumi_ stack rm --stack "$stack" --yes
  rm -f "$CONFIG_DIR/Pulumi.$stack.yaml"
}

case "${1:-}:$#" in
  preview:3) preview "$2" "$3" ;;
  deploy:2) deploy "$2" ;;
  review-up:2) review_up "$2" ;;
  review-down:2) review_down "$2" ;;
  *) usage ;;
esac
