#!/usr/bin/env bash
# Build the local cluster's binaries from the Go module proxy, once per inputs:
# - Kubernetes (cluster/go.mod, its go.sum the lock): kube-apiserver,
#   kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl,
#   the etcd it pins, and crictl (the node's container runtime, by hand);
# - pause (cluster/pause), the pod sandbox's process, and the cluster's DNS
#   (cluster/coredns: CoreDNS with the few plugins it needs, its own module);
# - Argo Rollouts' controller, from its own module as released, and its CRDs.
# Output: $NEOSALE_KUBE_PREFIX/<inputs digest>/{bin,crds}; "current" links the
# last build. A second run with the same inputs does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/env.sh
. "$here/env.sh"
LOG_TAG=cluster-build
# shellcheck source=airgap/lib.sh
. "$here/../airgap/lib.sh"

command -v go >/dev/null || die "go is not on PATH; Go >= 1.21 is needed to fetch the $NEOSALE_KUBE_GO toolchain"
export GOTOOLCHAIN="$NEOSALE_KUBE_GO" CGO_ENABLED=0
kube_version="$(sed -nE 's/^[[:space:]]*k8s\.io\/kubernetes (v[0-9.]+)( .*)?$/\1/p' "$here/go.mod")"
[ -n "$kube_version" ] || die "cluster/go.mod does not require k8s.io/kubernetes"

digest="$(cat "$0" "$here/env.sh" "$here"/{,coredns/}go.{mod,sum} "$here"/{pause,coredns}/main.go | sha256sum | cut -c1-16)"
dest="$NEOSALE_KUBE_PREFIX/$digest"

# go build, naming the module no proxy serves when that is why it failed.
go_build() { # dir, output, packages...
  local dir="$1" out="$2" msg refused
  shift 2
  log "go build $* -> $out"
  if ! msg="$(cd "$dir" && go build -trimpath -ldflags "$ld" -o "$out" "$@" 2>&1)"; then
    printf '%s\n' "$msg" | tail -n 20 >&2
    refused="$(go_refused_module "$msg")"
    [ -z "$refused" ] || die "$refused is not served by GOPROXY=$(go env GOPROXY)"
    die "go build $* failed"
  fi
}

build_kubernetes() {
  local v="k8s.io/component-base/version" c="k8s.io/client-go/pkg/version" minor
  minor="$(cut -d. -f2 <<<"$kube_version")"
  ld="-s -w"
  for p in "$v" "$c"; do
    ld+=" -X $p.gitVersion=$kube_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  go_build "$here" "$dest/bin.tmp/" k8s.io/kubernetes/cmd/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
  go_build "$here" "$dest/bin.tmp/etcd" go.etcd.io/etcd/server/v3
  ld="-s -w"
  go_build "$here" "$dest/bin.tmp/crictl" sigs.k8s.io/cri-tools/cmd/crictl
  go_build "$here" "$dest/bin.tmp/pause" ./pause
  go_build "$here/coredns" "$dest/bin.tmp/coredns" .
}

build_argo_rollouts() {
  local src
  src="$(go mod download -json "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  [ -d "$src" ] || die "GOPROXY=$(go env GOPROXY) does not serve github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION"
  ld="-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=${ARGO_ROLLOUTS_VERSION#v}"
  go_build "$src" "$dest/bin.tmp/rollouts-controller" ./cmd/rollouts-controller
  mkdir -p "$dest/crds.tmp"
  cp "$src"/manifests/crds/*.yaml "$dest/crds.tmp/"
  chmod -R u+w "$dest/crds.tmp"
}

if [ -f "$dest/.done" ]; then
  log "up to date: $dest (kubernetes $kube_version, argo-rollouts $ARGO_ROLLOUTS_VERSION, $NEOSALE_KUBE_GO)"
else
  mkdir -p "$dest"
  exec 8>"$dest/.lock"
  flock 8
  if [ ! -f "$dest/.done" ]; then
    started=$SECONDS
    rm -rf "${dest:?}/bin.tmp" "${dest:?}/crds.tmp" "${dest:?}/bin" "${dest:?}/crds"
    mkdir -p "$dest/bin.tmp"
    build_kubernetes
    build_argo_rollouts
    mv "$dest/bin.tmp" "$dest/bin"
    mv "$dest/crds.tmp" "$dest/crds"
    touch "$dest/.done"
    log "built in $((SECONDS - started))s: $dest"
    # Builds of older inputs are never used again.
    find "$NEOSALE_KUBE_PREFIX" -mindepth 1 -maxdepth 1 -type d ! -name "$digest" -exec rm -rf {} +
  fi
  exec 8>&-
fi
ln -sfn "$digest" "$NEOSALE_KUBE_PREFIX/current"
