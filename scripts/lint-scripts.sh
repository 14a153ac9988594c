#!/usr/bin/env bash
# The lint `npm run lint` runs after ESLint and Prettier: actionlint over the GitHub workflows (with shellcheck
# over the shell in their `run:` steps), and shellcheck over every shell script in the repository.
# Installs what is missing: shellcheck from Debian (apt-get, as root or through sudo), and actionlint built from the
# Go module proxy at the version pinned in test/e2e/toolchain/actionlint (instant once built).
# Exit status: 0 when both are clean, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=../test/e2e/toolchain/versions.sh
source test/e2e/toolchain/versions.sh

if ! command -v shellcheck >/dev/null; then
  echo "lint: installing shellcheck (Debian package)" >&2
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  timeout 600 "${sudo[@]}" apt-get update -qq
  timeout 600 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck
fi
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
test/e2e/toolchain/build.sh actionlint 2>"$build_log" || { cat "$build_log" >&2; exit 1; }

# Shell scripts: by extension, or by a shebang naming sh or bash (like .ci/run), tracked or new but not ignored.
scripts=()
while IFS= read -r -d '' file; do
  [[ -f $file ]] || continue
  if [[ $file == *.sh || $file == *.bash ]] || head -n1 "$file" | grep -Eq '^#!.*[/ ](ba)?sh( |$)'; then
    scripts+=("$file")
  fi
done < <(git ls-files -z --cached --others --exclude-standard)

status=0
"$E2E_BIN/actionlint" || status=1
shellcheck --external-sources "${scripts[@]}" || status=1
((status == 0)) && echo "actionlint: .github/workflows clean; shellcheck: ${#scripts[@]} scripts clean"
exit "$status"
