#!/usr/bin/env bash
# Trivy without ghcr.io: the scanner and the trivy-db tool are built from the
# Go module proxy, and the vulnerability DB is built locally from the advisory
# files under tests/fixtures/advisories.
#
#   build.sh [bin]  build trivy + trivy-db into $NEOSALE_CACHE/trivy/<version>/bin;
#                   last stdout line: absolute path of the trivy binary
#   build.sh db     also build the DB into $NEOSALE_CACHE/trivy/db-cache/db/;
#                   last stdout line: the cache dir to pass as --cache-dir
#
# Both steps are skipped when their inputs have not changed (stamp files).
# Everything else goes to stderr: other scripts read only the last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=airgap/env.sh
. "$here/../env.sh"

TRIVY_VERSION="${TRIVY_VERSION:-v0.74.0}"
TRIVY_VERSION="v${TRIVY_VERSION#v}"
ADVISORIES="${NEOSALE_TRIVY_ADVISORIES:-$repo/tests/fixtures/advisories}"
root="$NEOSALE_CACHE/trivy"
DB_CACHE="${NEOSALE_TRIVY_DB_CACHE:-$root/db-cache}"

LOG_TAG=trivy
# shellcheck source=airgap/lib.sh
. "$here/../lib.sh"

mode="${1:-bin}"
case "$mode" in bin | db) ;; *) die "usage: $0 [bin|db]" ;; esac

command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "go is not on PATH (Go 1.26 is required)"
# Never fetch another toolchain: trivy >= v0.67 needs the jsonv2 experiment as
# Go 1.26 ships it, and Go 1.27 changed that API.
export GOTOOLCHAIN=local
gover="$(go env GOVERSION)"
case "$gover" in go1.26*) ;; *) die "$gover: trivy $TRIVY_VERSION builds with Go 1.26 only" ;; esac

mkdir -p "$root"
# One build at a time: tests and pipeline steps may call this concurrently.
exec 9>"$root/.lock"
flock 9

modinfo() { # module@version field -> value from `go mod download -json`
  go mod download -json "$1" | sed -n "s/^\t\"$2\": \"\(.*\)\",\{0,1\}$/\1/p"
}

gomod="$(modinfo "github.com/aquasecurity/trivy@$TRIVY_VERSION" GoMod)" \
  || die "the Go module proxy ($(go env GOPROXY)) does not serve github.com/aquasecurity/trivy@$TRIVY_VERSION"
[ -n "$gomod" ] || die "no go.mod for github.com/aquasecurity/trivy@$TRIVY_VERSION"
# trivy-db has no tags: build the exact commit this trivy release was built against.
DB_TOOL_VERSION="$(awk '$1 == "github.com/aquasecurity/trivy-db" { print $2; exit }' "$gomod")"
[ -n "$DB_TOOL_VERSION" ] || die "$gomod does not require github.com/aquasecurity/trivy-db"

dest="$root/$TRIVY_VERSION"
trivy="$dest/bin/trivy"
trivy_db="$dest/bin/trivy-db"
ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}"
inputs="trivy=$TRIVY_VERSION trivy-db=$DB_TOOL_VERSION go=$gover goexperiment=jsonv2 cgo=0 ldflags=$ldflags"
stamp="$dest/.inputs"

if [ -x "$trivy" ] && [ -x "$trivy_db" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  log "up to date: $dest ($inputs)"
else
  mkdir -p "$dest/bin"
  rm -f "$stamp"
  t0=$SECONDS
  log "go install github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
  GOBIN="$dest/bin" GOEXPERIMENT=jsonv2 CGO_ENABLED=0 \
    go install -trimpath -ldflags "$ldflags" "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION" >&2
  log "trivy built in $((SECONDS - t0))s ($(du -h "$trivy" | cut -f1))"
  t0=$SECONDS
  log "go install github.com/aquasecurity/trivy-db/cmd/trivy-db@$DB_TOOL_VERSION"
  GOBIN="$dest/bin" CGO_ENABLED=0 \
    go install -trimpath -ldflags "-s -w" "github.com/aquasecurity/trivy-db/cmd/trivy-db@$DB_TOOL_VERSION" >&2
  log "trivy-db built in $((SECONDS - t0))s ($(du -h "$trivy_db" | cut -f1))"
  "$trivy" --version >&2 || die "the trivy binary does not run"
  echo "$inputs" >"$stamp"
fi

if [ "$mode" = bin ]; then
  echo "$trivy"
  exit 0
fi

# The DB: its inputs are the advisory files (names and bytes) and the tool.
[ -d "$ADVISORIES/github-reviewed" ] || die "no github-reviewed advisories under $ADVISORIES"
adv_sum="$(cd "$ADVISORIES" && find github-reviewed -type f -name '*.json' -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-16)"
db_inputs="advisories=$adv_sum trivy-db=$DB_TOOL_VERSION"
db_stamp="$DB_CACHE.inputs"
if [ -f "$DB_CACHE/db/trivy.db" ] && [ -f "$DB_CACHE/db/metadata.json" ] && [ -f "$DB_CACHE.tar.gz" ] \
  && [ "$(cat "$db_stamp" 2>/dev/null)" = "$db_inputs" ]; then
  log "DB up to date: $DB_CACHE ($db_inputs)"
  echo "$DB_CACHE"
  exit 0
fi

t0=$SECONDS
mkdir -p "$(dirname "$DB_CACHE")"
work="$(mktemp -d "$(dirname "$DB_CACHE")/.db-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# trivy-db reads the github/advisory-database layout under <cache>/ghsa and
# walks <cache>/cocoapods-specs/Specs, which must exist even when empty.
mkdir -p "$work/src/ghsa/advisories" "$work/src/cocoapods-specs/Specs" "$work/cache/db"
cp -r "$ADVISORIES/github-reviewed" "$work/src/ghsa/advisories/"
log "trivy-db build --only-update ghsa from $ADVISORIES"
# The ghsa source lists the Go standard library through `go list` at start-up,
# so go stays on PATH; it runs from the scratch dir, outside any module.
(cd "$work" && "$trivy_db" build --cache-dir "$work/src" --output-dir "$work/cache/db" --only-update ghsa >&2) \
  || die "trivy-db build failed"
for f in trivy.db metadata.json; do [ -s "$work/cache/db/$f" ] || die "trivy-db wrote no $f"; done
grep -q '"Version":2' "$work/cache/db/metadata.json" || die "unexpected DB schema: $(cat "$work/cache/db/metadata.json")"
# The same two files trivy downloads as its DB artifact, for hosts that unpack
# them into <cache>/db themselves.
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$work/cache/db" -czf "$work/db.tar.gz" trivy.db metadata.json

rm -rf "$DB_CACHE" "$DB_CACHE.tar.gz"
mv "$work/cache" "$DB_CACHE"
mv "$work/db.tar.gz" "$DB_CACHE.tar.gz"
echo "$db_inputs" >"$db_stamp"
log "DB built in $((SECONDS - t0))s: $DB_CACHE/db ($(du -h "$DB_CACHE/db/trivy.db" | cut -f1)), tarball $DB_CACHE.tar.gz"
echo "$DB_CACHE"
