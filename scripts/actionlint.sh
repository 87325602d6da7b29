#!/usr/bin/env bash
# actionlint from the Go module proxy, built once into
# $NEOSALE_CACHE/actionlint/<version>/bin, then run with the given arguments
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
dest="$NEOSALE_CACHE/actionlint/$ACTIONLINT_VERSION"
bin="$dest/bin/actionlint"

log() { printf '[actionlint] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "go is not on PATH (needed once, to build actionlint $ACTIONLINT_VERSION)"
  mkdir -p "$dest"
  # One build at a time: concurrent callers wait, then find the binary.
  exec 9>"$dest/.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    log "building github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION ($(go env GOPROXY))"
    GOTOOLCHAIN=local GOBIN="$dest/bin.tmp" CGO_ENABLED=0 \
      go install -trimpath -ldflags "-s -w" \
      "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
      || die "could not build actionlint $ACTIONLINT_VERSION from the Go module proxy"
    mkdir -p "$dest/bin"
    mv "$dest/bin.tmp/actionlint" "$bin.tmp" && mv "$bin.tmp" "$bin"
    rmdir "$dest/bin.tmp" 2>/dev/null || true
  fi
  exec 9>&-
fi

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
