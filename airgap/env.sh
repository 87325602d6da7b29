# shellcheck shell=bash
# The one place that says where the air-gapped toolchain lives and how a
# client reaches the engine. Sourced by every script, by .ci/run and by the
# README; tests read the same values through airgap/env.py.

# Version pinned for the whole project (dagger-io wheel, dagger.json, workflows).
export DAGGER_VERSION="${DAGGER_VERSION:-0.21.11}"
# Versions tried, in order, when the engine is built from the Go module proxy:
# the pin first, then the newest patch of the same minor line the proxy serves.
export DAGGER_SOURCE_VERSIONS="${DAGGER_SOURCE_VERSIONS:-v${DAGGER_VERSION} v0.21.8}"

export NEOSALE_CACHE="${NEOSALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neosale-ci}"
export NEOSALE_PREFIX="${NEOSALE_PREFIX:-$NEOSALE_CACHE/dagger}"
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
