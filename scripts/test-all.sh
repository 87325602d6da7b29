#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts
# every service the tests use (Dagger engine with its builtin SDK content,
# local registry and image set, Trivy DB, dockerd, PostgreSQL and Redis; the
# tests bring a Kubernetes cluster up and down),
# runs both apps' npm suites, then pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started=$SECONDS
phase() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - started))" >&2; }

phase "setup"
bash scripts/setup.sh
# shellcheck source=airgap/env.sh
. airgap/env.sh

phase "setup: Kubernetes and Argo Rollouts (cluster/build.sh)"
bash cluster/build.sh

phase "services"
# The engine keeps its cache only across a clean stop: a killed engine (a
# machine shut down under it) wipes the whole cache at its next start.
trap 'bash airgap/engine.sh stop' EXIT
bash scripts/airgap-up.sh
bash scripts/dockerd.sh start
eval "$(bash scripts/test-services.sh start)"
export DATABASE_URL REDIS_URL

phase "backend: lint, typecheck, unit and integration tests"
(cd backend && npm run lint && npm run typecheck && npm test && npm run test:integration)
phase "frontend: lint, typecheck, unit tests"
(cd frontend && npm run lint && npm run typecheck && npm test)

phase "python: ruff, mypy"
.venv/bin/ruff check ci tests bench
.venv/bin/ruff format --check ci tests bench
.venv/bin/mypy

phase "pytest"
set +e
.venv/bin/python -m pytest --durations=30 "$@"
code=$?
set -e
# pytest exits 5 when it collected nothing: a suite that ran no test failed.
if [ "$code" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
phase "done (exit $code)"
exit "$code"
