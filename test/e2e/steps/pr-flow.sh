# shellcheck shell=bash
# The pull-request flow of the GitHub workflows, rehearsed against the e2e's cluster through the very script the
# workflows call (scripts/stack.sh), so the commands and flags are the same. Sourced by run.sh, which then runs
#   step pr-preview pr_preview        (.github/workflows/preview.yml)
#   step review-stack review_stack    (.github/workflows/review-stack.yml)
# Uses run.sh's ROOT, WORK, E2E_POSTGRES_IMAGE, ROWS_V1, pulumi_ and sales_rows, and its backend
# (PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE) and KUBECONFIG, as the workflows get them from repository secrets.

# The stacks' files live here, not in the repository: as on a runner, the only copies are the ones given.
PR_STACKS=$WORK/pr-stacks
PR_NUMBER=42

# `pulumi stack init` and `pulumi config set` as a user runs them, in a copy of the project's files.
pr_user_stack() {
  local stack=$1 secret=$2
  mkdir -p "$PR_STACKS"
  cp "$ROOT/Pulumi.yaml" "$PR_STACKS/"
  [[ -f $ROOT/Pulumi.$stack.yaml ]] && cp "$ROOT/Pulumi.$stack.yaml" "$PR_STACKS/"
  timeout -k 10 120 pulumi --cwd "$PR_STACKS" --non-interactive stack init "$stack" >/dev/null &&
    timeout -k 10 120 pulumi --cwd "$PR_STACKS" --non-interactive config set --stack "$stack" --secret dbPassword "$secret"
}

# The workflows' commands: STACK_CONFIG_DIR points them at the stacks' files above.
# The e2e's node has no registry: review stacks run the locally built image, as a repository would point them at
# its own registry's copy.
pr_workflow() {
  STACK_CONFIG_DIR=$PR_STACKS REVIEW_STACK_CONFIG="image=$E2E_POSTGRES_IMAGE seedWaitTimeout=120" \
    timeout -k 10 900 "$ROOT/scripts/stack.sh" "$@"
}

# Each stack's preview succeeds, is computed from that stack's own config, shows the seed's data-quality lines,
# and creates nothing; the password its user set shows nowhere.
pr_preview() {
  local stack pw report size
  for stack in dev staging prod; do
    pw="preview-$stack-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    pr_user_stack "$stack" "$pw" || return 1
    report=$WORK/preview-$stack.md
    pr_workflow preview "$stack" "$report" || { echo "preview of $stack failed"; return 1; }
    cat "$report"
    if ! { grep -q "^### pulumi preview of $stack: succeeded" "$report" &&
      grep -q 'data/sales.csv: 3 valid, 3 rejected (required_fields 1, product_prefix 2, price_numeric 1, min_price 1, max_quantity 1)' "$report" &&
      grep -q 'Invalid sale: line 7 \[product_prefix, min_price, max_quantity\]' "$report"; }; then
      echo "the $stack preview's comment lacks the seed's validation"
      return 1
    fi
    size=$(sed -n 's/^ *sales-db:storageSize: *//p' "$ROOT/Pulumi.$stack.yaml")
    grep -Eq "size +: +\"$size\"" "$report" || { echo "the $stack preview does not use its storageSize $size"; return 1; }
    ! grep -qF "$pw" "$report" || { echo "the $stack password shows in its preview"; return 1; }
    ! kubectl get namespace "sales-db-$stack" >/dev/null 2>&1 || { echo "the $stack preview created its namespace"; return 1; }
  done
  # A stack the backend does not have yet, without any file or password (a fresh repository's first pull
  # request): the script creates it, and its preview needs no password either.
  pr_workflow preview fresh "$WORK/preview-fresh.md" || { echo "preview of a fresh stack failed"; return 1; }
  grep -q "^### pulumi preview of fresh: succeeded" "$WORK/preview-fresh.md" || return 1
  # The repository's stack files are as they were: nothing was written into them.
  git -C "$ROOT" diff --exit-code -- 'Pulumi.*.yaml'
}

# The review stack of a pull request: up when it opens, rows read back, an update on a fresh runner (no stack
# file), destroy and stack rm when it closes, and nothing of it left in the cluster.
review_stack() {
  local stack=pr-$PR_NUMBER ns=sales-db-pr-$PR_NUMBER pw rows
  pr_workflow review-up "$PR_NUMBER" || { echo "review-up failed"; return 1; }
  pw=$(kubectl -n "$ns" get secret postgres-auth -o jsonpath='{.data.postgres-password}' | base64 -d)
  [[ -n $pw ]] || { echo "no password in the review stack's Secret"; return 1; }
  rows=$(sales_rows "$ns" "$pw") || return 1
  echo "$rows"
  [[ $rows == "$ROWS_V1" ]] || { echo "expected: $ROWS_V1"; return 1; }
  pulumi_ stack export --stack "$stack" >"$WORK/review-state.json" || return 1
  ! grep -qF "$pw" "$WORK/review-state.json" || { echo "plaintext password in the review stack's state"; return 1; }

  # The next run starts from a fresh clone: the stack's file is gone, its state is not.
  rm -f "$PR_STACKS/Pulumi.$stack.yaml"
  pr_workflow review-up "$PR_NUMBER" || { echo "review-up on a fresh runner failed"; return 1; }
  [[ $(kubectl -n "$ns" get secret postgres-auth -o jsonpath='{.data.postgres-password}' | base64 -d) == "$pw" ]] ||
    { echo "the generated password changed on update"; return 1; }
  [[ $(sales_rows "$ns" "$pw") == "$ROWS_V1" ]] || { echo "rows changed on update"; return 1; }
  rm -f "$PR_STACKS/Pulumi.$stack.yaml"

  pr_workflow review-down "$PR_NUMBER" || { echo "review-down failed"; return 1; }
  ! pulumi_ stack ls --json | grep -Eq "\"name\": *\"$stack\"" || { echo "stack $stack still listed"; return 1; }
  [[ -z $(helm list -n "$ns" -q) ]] || { echo "release left in $ns"; return 1; }
  for _ in $(seq 1 60); do
    kubectl get namespace "$ns" >/dev/null 2>&1 || break
    sleep 1
  done
  ! kubectl get namespace "$ns" >/dev/null 2>&1 || { echo "namespace $ns left behind"; return 1; }
  # The volume goes back to the cluster: no PersistentVolume is still bound to a claim of the review stack.
  ! kubectl get pv -o jsonpath='{range .items[?(@.status.phase=="Bound")]}{.spec.claimRef.namespace}{"\n"}{end}' |
    grep -qx "$ns" || { echo "a volume is still bound to $ns"; return 1; }
  # A closed pull request whose stack is gone (or never made) is nothing to do.
  pr_workflow review-down "$PR_NUMBER"
}
