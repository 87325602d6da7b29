#!/usr/bin/env bash
# Everything `dagger call` needs on a machine that reaches only package
# registries, started or built when missing (a second run only checks): the
# engine with its builtin SDK content, the local registry with the stand-in
# image set, the Trivy DB, and the .env that points the module's image
# arguments at the stand-ins (online users keep the pinned defaults).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=airgap/env.sh
. airgap/env.sh
bash airgap/engine.sh start
bash airgap/registry.sh start
.venv/bin/python -m neosale_airgap.images build
bash airgap/trivy/build.sh db >/dev/null
bash airgap/sdk-content.sh
.venv/bin/python -m neosale_airgap.standins dotenv > .env
