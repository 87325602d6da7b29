#!/usr/bin/env bash
# Recompile the Python lock files after a dependency change in pyproject.toml
# (commit the results; CI installs exactly these):
#   requirements-dev.lock  the host venv: our packages' deps, dev and deploy
#                          extras, the dagger-io client at $DAGGER_VERSION
#   uv.lock                the Dagger module's runtime install; dagger-io is
#                          the engine's bundled SDK (./sdk, from the dagger
#                          tree install-dagger.sh prepared)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=airgap/env.sh
. airgap/env.sh
uv=.venv/bin/uv
[ -x "$uv" ] || { echo "lock: $uv is missing: run scripts/setup.sh first" >&2; exit 1; }

"$uv" pip compile -q pyproject.toml --extra dev --extra deploy --no-sources --universal \
  --python-version 3.11 --generate-hashes --custom-compile-command scripts/lock.sh \
  --constraint <(echo "dagger-io==$DAGGER_VERSION") -o requirements-dev.lock

sdk="$NEOSALE_DAGGER_TREE/sdk/python"
[ -f "$sdk/pyproject.toml" ] || { echo "lock: $sdk is missing: run airgap/install-dagger.sh first" >&2; exit 1; }
# What `dagger develop` puts in ./sdk (gitignored), so uv sees the same SDK
# the runtime vendors there.
rm -rf sdk; mkdir sdk
cp -r "$sdk/pyproject.toml" "$sdk/uv.lock" "$sdk/README.md" "$sdk/LICENSE" "$sdk/src" "$sdk/codegen" sdk/
chmod -R u+w sdk
rm -rf sdk/src/dagger/_engine sdk/src/dagger/provisioning
"$uv" lock -q
