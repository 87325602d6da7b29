#!/usr/bin/env bash
# Install the project's one Dagger version ($DAGGER_VERSION, airgap/env.sh):
# the official CLI and an engine that runs without any container registry,
# built from the Go module proxy into $NEOSALE_PREFIX/v<version>/, with
# $NEOSALE_PREFIX/bin pointing at the result. Modules the proxy refuses come
# from an extra Go module mirror, NEOSALE_GO_MIRROR, consulted first. A second
# run with the same inputs is a no-op (stamp file + Go caches).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=airgap/env.sh
. "$here/env.sh"

RUNC_VERSION="${RUNC_VERSION:-v1.4.2}"
CNI_PLUGINS_VERSION="${CNI_PLUGINS_VERSION:-v1.9.0}"
APT_PACKAGES=(dnsmasq iptables git openssh-client pigz xz-utils ca-certificates
  libseccomp-dev pkg-config gcc util-linux curl)

LOG_TAG=install-dagger
# shellcheck source=airgap/lib.sh
. "$here/lib.sh"

command -v go >/dev/null || die "go is not on PATH; Go >= 1.26.1 is required to build the engine"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The extra mirror first; "," falls through to the next proxy on "not found".
export GOPROXY="${NEOSALE_GO_MIRROR:+$NEOSALE_GO_MIRROR,}$(go env GOPROXY)"
version="v$DAGGER_VERSION"
src="$(go mod download -json "github.com/dagger/dagger@$version" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)",/\1/p')" || true
[ -n "$src" ] || die "GOPROXY=$GOPROXY does not serve github.com/dagger/dagger@$version: set NEOSALE_GO_MIRROR to a Go module mirror that has it"

# A `go build` that fails on a module no proxy in the chain serves says which
# module and what to set, instead of a wall of compiler output.
go_build() { # package, output
  local out
  log "go build $1 -> $2"
  if ! out="$(cd "$tree" && CGO_ENABLED=0 go build -trimpath -tags dfexcludepatterns,dfparents -ldflags "$ld" -o "$2" "$1" 2>&1)"; then
    local refused
    refused="$(go_refused_module "$out")"
    printf '%s\n' "$out" | tail -n 20 >&2
    [ -z "$refused" ] || die "$refused is not served by GOPROXY=$GOPROXY; $1 needs it: set NEOSALE_GO_MIRROR to a Go module mirror that has it (file:///DIR or https://HOST)"
    die "go build $1 failed"
  fi
}

dest="$NEOSALE_PREFIX/$version"
stamp="$dest/.inputs"
inputs="dagger=$version runc=$RUNC_VERSION cni=$CNI_PLUGINS_VERSION go=$(go env GOVERSION) sources=$(cat "$0" "$here"/engine/*.go | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  log "up to date: $dest ($inputs)"
else
  mkdir -p "$dest/bin" "$dest/cni"
  # The module zip leaves out nested modules that go.mod replaces with local
  # paths: sdk/go is published as dagger.io/dagger; engine/distconsts is not
  # published, so its constants (the engine's fixed paths) come from
  # airgap/engine/distconsts.go.
  tree="$NEOSALE_DAGGER_TREE"
  log "preparing build tree $tree"
  rm -rf "$tree"; mkdir -p "$(dirname "$tree")"
  cp -r "$src" "$tree"; chmod -R u+w "$tree"
  sdk="$(go mod download -json "dagger.io/dagger@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [ -n "$sdk" ] || die "GOPROXY=$GOPROXY does not serve dagger.io/dagger@$version"
  rm -rf "$tree/sdk/go"; cp -r "$sdk" "$tree/sdk/go"; chmod -R u+w "$tree/sdk/go"
  mkdir -p "$tree/engine/distconsts"
  cp "$here/engine/distconsts.go" "$tree/engine/distconsts/distconsts.go"
  printf 'module github.com/dagger/dagger/engine/distconsts\n\ngo 1.22\n' > "$tree/engine/distconsts/go.mod"
  # One edit: an engine started without the builtin SDK content says so and
  # names the fix, instead of failing to parse an empty manifest digest.
  perl -0pi -e 's|(\tmanifestDigest digest.Digest,\n\) \(\*module, error\) \{\n)|$1\tif manifestDigest == "" {\n\t\treturn nil, fmt.Errorf("this engine has no builtin %s SDK content, which module mode (dagger call, functions, check) needs: build it with airgap/sdk-content.sh (it restarts the engine with it)", sdk.Source)\n\t}\n|' "$tree/core/sdk/loader.go"
  grep -q 'has no builtin %s SDK content' "$tree/core/sdk/loader.go" \
    || die "core/sdk/loader.go: the builtin SDK loader moved upstream; update the edit in airgap/install-dagger.sh"

  ld="-s -w -X github.com/dagger/dagger/engine.Version=$version -X github.com/dagger/dagger/engine.Tag=$version"
  go_build ./cmd/engine "$dest/bin/dagger-engine"
  go_build ./cmd/init "$dest/bin/dagger-init"
  go_build ./cmd/dialstdio "$dest/bin/dial-stdio"
  go_build ./cmd/dnsname "$dest/cni/dnsname"
  # codegen goes into the engine's builtin Go SDK (airgap/sdk-content.sh).
  go_build ./cmd/codegen "$dest/bin/codegen"
  ln -sf dial-stdio "$dest/bin/buildctl"

  # The official CLI: the release when it is reachable, else the same
  # cmd/dagger built from the tree.
  release="https://dl.dagger.io/dagger/releases/$DAGGER_VERSION"
  tarball="dagger_v${DAGGER_VERSION}_linux_amd64.tar.gz"
  if [ "${NEOSALE_DAGGER_RELEASE:-auto}" != never ] && sums="$(curl -fsS --max-time 5 "$release/checksums.txt" 2>/dev/null)"; then
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    curl -fsSL --max-time 120 -o "$tmp/$tarball" "$release/$tarball"
    (cd "$tmp" && grep " $tarball\$" <<<"$sums" | sha256sum -c - >/dev/null) || die "checksum mismatch for $release/$tarball"
    tar -xzf "$tmp/$tarball" -C "$tmp" dagger
    install -m 0755 "$tmp/dagger" "$dest/bin/dagger"
    log "installed the official dagger CLI v$DAGGER_VERSION from $release"
  else
    log "official release not reachable: building cmd/dagger $version from source"
    go_build ./cmd/dagger "$dest/bin/dagger"
  fi

  log "go install github.com/opencontainers/runc@$RUNC_VERSION (cgo, libseccomp)"
  GOBIN="$dest/bin" CGO_ENABLED=1 go install -trimpath -tags seccomp \
    -ldflags "-X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"

  for p in main/bridge main/loopback ipam/host-local meta/firewall; do
    log "go install containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
    GOBIN="$dest/cni" CGO_ENABLED=0 go install -trimpath "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
  done
  echo "$inputs" > "$stamp"
fi

ln -sfn "$version" "$NEOSALE_PREFIX/current"
mkdir -p "$NEOSALE_PREFIX/bin"
ln -sf "../current/bin/dagger" "$NEOSALE_PREFIX/bin/dagger"
log "dagger CLI: $("$NEOSALE_PREFIX/bin/dagger" version 2>/dev/null || echo '?')"
