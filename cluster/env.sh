# shellcheck shell=bash
# Where the local Kubernetes cluster's binaries and state live, and the
# versions it runs. Sourced by cluster/*.sh; tests read the same values.
_neosale_cluster="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=airgap/env.sh
. "$_neosale_cluster/../airgap/env.sh"
unset _neosale_cluster

# Argo Rollouts, built from its own module as released (its go.mod and
# go.sum). Its go.mod asks for this Go toolchain, which the Go module proxy
# serves; the whole cluster is built with it.
export ARGO_ROLLOUTS_VERSION=v1.10.2
export NEOSALE_KUBE_GO=go1.26.10

# Built binaries: $NEOSALE_KUBE_PREFIX/<inputs digest>/, "current" the last.
export NEOSALE_KUBE_PREFIX="${NEOSALE_KUBE_PREFIX:-$NEOSALE_CACHE/kube}"
# A running cluster's state: PKI, kubeconfigs, etcd data, logs, pids.
export NEOSALE_KUBE_RUN="${NEOSALE_KUBE_RUN:-$NEOSALE_CACHE/kube-run}"
