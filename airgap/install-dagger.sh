#!/usr/bin/env bash
# Install the Dagger CLI and a Dagger engine that runs without any container
# registry: everything is built from the Go module proxy into
# $NEOSALE_PREFIX/<version>/, and $NEOSALE_PREFIX/bin points at the result.
# A second run with the same inputs is a no-op (stamp file + Go caches).
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

# The engine source version: the pin if the proxy serves it, else the newest
# patch of the same minor line that it does serve (the proxy may lag releases).
version=""
for v in $DAGGER_SOURCE_VERSIONS; do
  if src="$(go mod download -json "github.com/dagger/dagger@$v" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)",/\1/p')" && [ -n "$src" ]; then
    version="$v"; break
  fi
  log "the Go module proxy does not serve github.com/dagger/dagger@$v"
done
[ -n "$version" ] || die "none of DAGGER_SOURCE_VERSIONS ($DAGGER_SOURCE_VERSIONS) is served by GOPROXY=$(go env GOPROXY)"
[ "$version" = "v$DAGGER_VERSION" ] || log "building $version: v$DAGGER_VERSION is not served; client v$DAGGER_VERSION and engine $version share the 0.21 API"

dest="$NEOSALE_PREFIX/$version"
stamp="$dest/.inputs"
inputs="dagger=$version runc=$RUNC_VERSION cni=$CNI_PLUGINS_VERSION go=$(go env GOVERSION) sources=$(cat "$0" "$here"/engine/*.go "$here"/engine/*.sh "$here"/cli/*.go | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  log "up to date: $dest ($inputs)"
else
  mkdir -p "$dest/bin" "$dest/cni"
  # The module zip leaves out nested modules that go.mod replaces with local
  # paths: sdk/go is published as dagger.io/dagger; engine/distconsts is not
  # published, so its constants (the engine's fixed paths) come from
  # airgap/engine/distconsts.go. prune-ui.sh drops the parts that need modules
  # the proxy does not serve, and cli/main.go is our session-only client.
  tree="$NEOSALE_CACHE/src/dagger-$version"
  log "preparing build tree $tree"
  rm -rf "$tree"; mkdir -p "$(dirname "$tree")"
  cp -r "$src" "$tree"; chmod -R u+w "$tree"
  sdk="$(go mod download -json "dagger.io/dagger@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [ -n "$sdk" ] || die "the Go module proxy does not serve dagger.io/dagger@$version"
  rm -rf "$tree/sdk/go"; cp -r "$sdk" "$tree/sdk/go"; chmod -R u+w "$tree/sdk/go"
  mkdir -p "$tree/engine/distconsts" "$tree/cmd/dagger-airgap"
  cp "$here/engine/distconsts.go" "$tree/engine/distconsts/distconsts.go"
  printf 'module github.com/dagger/dagger/engine/distconsts\n\ngo 1.22\n' > "$tree/engine/distconsts/go.mod"
  cp "$here/cli/main.go" "$tree/cmd/dagger-airgap/main.go"
  bash "$here/engine/prune-ui.sh" "$tree"

  ld="-s -w -X github.com/dagger/dagger/engine.Version=$version -X github.com/dagger/dagger/engine.Tag=$version"
  build() { # package, output
    log "go build $1 -> $2"
    (cd "$tree" && CGO_ENABLED=0 go build -trimpath -tags dfexcludepatterns,dfparents -ldflags "$ld" -o "$2" "$1")
  }
  build ./cmd/engine "$dest/bin/dagger-engine"
  build ./cmd/init "$dest/bin/dagger-init"
  build ./cmd/dialstdio "$dest/bin/dial-stdio"
  build ./cmd/dnsname "$dest/cni/dnsname"
  build ./cmd/dagger-airgap "$dest/bin/dagger"
  ln -sf dial-stdio "$dest/bin/buildctl"

  log "go install github.com/opencontainers/runc@$RUNC_VERSION (cgo, libseccomp)"
  GOBIN="$dest/bin" CGO_ENABLED=1 go install -trimpath -tags seccomp \
    -ldflags "-X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"

  for p in main/bridge main/loopback ipam/host-local meta/firewall; do
    log "go install containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
    GOBIN="$dest/cni" CGO_ENABLED=0 go install -trimpath "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
  done
  echo "$inputs" > "$stamp"
fi

# Where the official release is reachable, the full CLI (terminal UI,
# `dagger call`) replaces the session-only client; it talks to the same engine.
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
  log "official release not reachable: using the session-only client built from source"
fi

ln -sfn "$version" "$NEOSALE_PREFIX/current"
mkdir -p "$NEOSALE_PREFIX/bin"
ln -sf "../current/bin/dagger" "$NEOSALE_PREFIX/bin/dagger"
log "dagger CLI: $("$NEOSALE_PREFIX/bin/dagger" version 2>/dev/null || echo '?')"
