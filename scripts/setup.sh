#!/usr/bin/env bash
# Install everything NeoSale CI needs on a fresh Debian 12 machine, reaching
# only Debian's apt, PyPI, the npm registry and the Go module proxy.
# Idempotent: a second run only checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=airgap/env.sh
. airgap/env.sh

step() { printf '\n== setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

APT=(debootstrap docker.io docker-registry postgresql redis-server nginx-light chromium
     dnsmasq iptables git openssh-client pigz xz-utils ca-certificates libseccomp-dev
     pkg-config gcc util-linux curl shellcheck
     socat openssh-server openssl)  # the last three: tests/deploy/test_remote_hosts.py (TLS, ssh hosts)
step "apt packages"
missing=()
for p in "${APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The distribution's own registry service would take port 5000; ours is
# started by airgap/registry.sh with its storage in the cache folder.
if command -v systemctl >/dev/null && systemctl is-active -q docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

step "toolchains"
command -v go >/dev/null || die "Go >= 1.26.1 is required (the engine is built from source); install it and re-run"
command -v node >/dev/null && command -v npm >/dev/null || die "Node.js >= 20.19 with npm is required"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node -v) is too old: >= 20.19 is required"

step "python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
# Exactly the locked versions (hash-checked), then our packages on top.
.venv/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e .

step "npm dependencies"
for app in backend frontend e2e; do
  [ -f "$app/package-lock.json" ] || continue
  # npm ci wipes node_modules: skip it when the lock file has not changed.
  stamp="$app/node_modules/.neosale-lock.sha256"
  want="$(sha256sum "$app/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
done

step "dagger engine (airgap/install-dagger.sh)"
bash airgap/install-dagger.sh
