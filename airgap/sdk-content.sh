#!/usr/bin/env bash
# The engine's builtin SDK content, which module mode (`dagger call`,
# `dagger functions`, `dagger check`) needs: built by the running engine in
# client mode (ci/neosale_airgap/sdkcontent.py), then the engine restarted
# to take it. Needs install-dagger.sh, the engine and the local registry.
# A second run with the same inputs does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=airgap/env.sh
. "$here/env.sh"
LOG_TAG=sdk-content
# shellcheck source=airgap/lib.sh
. "$here/lib.sh"

[ -x "$root/.venv/bin/python" ] || die "$root/.venv is missing: run scripts/setup.sh first"
# The bases: Debian stand-ins from the image set (skipped when unchanged).
"$root/.venv/bin/python" -m neosale_airgap.images build go-sdk-base python
"$root/.venv/bin/python" -m neosale_airgap.sdkcontent build
bash "$here/engine.sh" start
