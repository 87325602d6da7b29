#!/usr/bin/env bash
# The main job on this checkout, air-gapped: local Dagger engine, local
# registry with the stand-in image set, locally built Trivy DB. Needs
# nothing outside this machine but the package registries for the first
# install. Extra arguments go to `python -m neosale_ci pipeline`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
# shellcheck source=airgap/env.sh
. airgap/env.sh
bash airgap/engine.sh start
bash airgap/registry.sh start
.venv/bin/python -m neosale_airgap.images build
bash airgap/trivy/build.sh db >/dev/null
exec .venv/bin/python -m neosale_ci pipeline --airgap --registry "$NEOSALE_REGISTRY_ADDR/neosale" --end-to-end "$@"
