#!/usr/bin/env bash
# The main job on this checkout, air-gapped: the very `dagger call` of the
# ci workflow's build job, with the official CLI against the local engine
# (stand-in images and the local Trivy DB from the generated .env), then the
# verdict from the exported report. Needs nothing outside this machine but
# the package registries for the first install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/airgap-up.sh
# shellcheck source=airgap/env.sh
. airgap/env.sh

# As in .github/workflows/ci.yml: the commit time, not the clock.
SHA="$(git rev-parse HEAD)"
CREATED="$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)"
rm -rf reports
# ci.yml, job images, step "Pipeline" (tests/cli/test_workflow_calls.py keeps them equal):
"$NEOSALE_PREFIX/bin/dagger" call \
  run --sha "$SHA" --created "$CREATED" --end-to-end \
  reports export --path reports
exec bash scripts/verdict.sh reports
