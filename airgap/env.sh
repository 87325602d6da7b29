# shellcheck shell=bash
# The one place that says where the air-gapped toolchain lives and how a
# client reaches the engine. Sourced by every script, by .ci/run and by the
# README; tests read the same values through airgap/env.py.

# The one Dagger version of the project: engine, CLI, dagger.json's
# engineVersion, the dagger-io client, the workflows (tests/unit/test_versions.py
# fails when any of them disagree). Not overridable: ship what is tested.
export DAGGER_VERSION=0.21.8

_neosale_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Mirrors for what no registry serves, as configuration. Their default is
# our CI's: the shared folder beside the checkout, when it exists.
# NEOSALE_GO_MIRROR: a Go module proxy consulted before GOPROXY (file:///DIR
# or https://HOST); the full CLI needs four modules the public proxy refuses.
if [ -z "${NEOSALE_GO_MIRROR+x}" ] && [ -d "$_neosale_root/../shared/goproxy" ]; then
  export NEOSALE_GO_MIRROR="file://$(cd "$_neosale_root/../shared/goproxy" && pwd)"
fi
# NEOSALE_DAGGER_SRC: where dagger-v<version>-sdk-runtime.tar.gz is (a folder
# or a URL): the Python SDK runtime module, absent from the Go module zip.
if [ -z "${NEOSALE_DAGGER_SRC+x}" ] && [ -d "$_neosale_root/../shared/dagger-src" ]; then
  export NEOSALE_DAGGER_SRC="$(cd "$_neosale_root/../shared/dagger-src" && pwd)"
fi
unset _neosale_root

export NEOSALE_CACHE="${NEOSALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neosale-ci}"
export NEOSALE_PREFIX="${NEOSALE_PREFIX:-$NEOSALE_CACHE/dagger}"
# The dagger/dagger source tree the engine, CLI and SDK content are built from.
export NEOSALE_DAGGER_TREE="${NEOSALE_DAGGER_TREE:-$NEOSALE_CACHE/src/dagger-v$DAGGER_VERSION}"
# The engine's builtin SDK content (airgap/sdk-content.sh): blobs + digests.
export NEOSALE_SDK_CONTENT="${NEOSALE_SDK_CONTENT:-$NEOSALE_CACHE/sdk-content}"
export NEOSALE_ENGINE_STATE="${NEOSALE_ENGINE_STATE:-$NEOSALE_CACHE/engine-state}"
export NEOSALE_ENGINE_RUN="${NEOSALE_ENGINE_RUN:-$NEOSALE_CACHE/engine-run}"
export NEOSALE_REGISTRY_ADDR="${NEOSALE_REGISTRY_ADDR:-127.0.0.1:5000}"
# The local image registry (airgap/registry.sh): blobs, and its config/pid/log.
export NEOSALE_REGISTRY_DIR="${NEOSALE_REGISTRY_DIR:-$NEOSALE_CACHE/registry}"
export NEOSALE_REGISTRY_RUN="${NEOSALE_REGISTRY_RUN:-$NEOSALE_CACHE/registry-run}"

# Go module and build caches live in the one cache folder, so a second
# install is a cache hit.
export GOMODCACHE="${GOMODCACHE:-$NEOSALE_CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$NEOSALE_CACHE/go/build}"
export GOFLAGS="${GOFLAGS:--modcacherw}"

# Client side: talk to our engine, use our CLI, never phone home.
export _EXPERIMENTAL_DAGGER_RUNNER_HOST="${_EXPERIMENTAL_DAGGER_RUNNER_HOST:-unix://$NEOSALE_ENGINE_RUN/engine.sock}"
export _EXPERIMENTAL_DAGGER_CLI_BIN="${_EXPERIMENTAL_DAGGER_CLI_BIN:-$NEOSALE_PREFIX/bin/dagger}"
export DAGGER_NO_NAG=1
export DAGGER_NO_UPDATE_CHECK=1
export DO_NOT_TRACK=1
export DAGGER_CLOUD_TOKEN=""
