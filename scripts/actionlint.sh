#!/usr/bin/env bash
# actionlint from the Go module proxy, built once into
# $NEOSALE_CACHE/actionlint/<version>-<go version>/bin, then run with the given arguments
# (default: every workflow under .github/workflows).
#
#   scripts/actionlint.sh                 lint .github/workflows/*.yml
#   scripts/actionlint.sh FILE...         lint these files
#   scripts/actionlint.sh --build-only    build (or find) it; print its path
#
# Build output goes to stderr; the linter's own output to stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=airgap/env.sh
. "$root/airgap/env.sh"

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
ACTIONLINT_VERSION="v${ACTIONLINT_VERSION#v}"
LOG_TAG=actionlint
# shellcheck source=airgap/lib.sh
. "$root/airgap/lib.sh"
bin="$(go_tool_build actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION")"

if [ "${1:-}" = "--build-only" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

cd "$root"
if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  set -- .github/workflows/*.yml .github/workflows/*.yaml
  [ "$#" -gt 0 ] || die "no workflow under .github/workflows"
fi
# When installed (apt-get install shellcheck), run: scripts are checked with shellcheck too.
exec "$bin" -no-color "$@"
