#!/usr/bin/env bash
# nektos/act, a GitHub Actions runner, set up to run this repository's
# workflows on this machine without GitHub:
#
#   scripts/act.sh --build-only   build (or find) act; print its path
#   scripts/act.sh --actions      unpack the actions the workflows use; print
#                                 their --local-repository arguments, one a line
#   scripts/act.sh ARGS...        act ARGS with those actions, every job on this
#                                 machine (ubuntu-* = -self-hosted), no cache
#                                 server, no Docker (scripts/rehearse.sh uses it)
#
# act is built from the Go module proxy once ($NEOSALE_CACHE/act/<version>-<go>-<fix>),
# with its artifact server fixed for upload-artifact v7 (below).
# Actions come from a mirror folder, NEOSALE_ACTIONS_MIRROR (default: our
# CI's ../shared/actions beside the checkout), one `git archive` tarball per
# repository, named REPO-*.tar.gz; each is unpacked once per tarball digest
# under $NEOSALE_CACHE/act/actions. A JavaScript action shipped without its
# bundle is rebuilt with npm (cached by tarball, node and npm versions). A
# pinned action with no tarball (github/codeql-action: code scanning exists
# only on GitHub) gets a stand-in that fails if a step ever runs it; the
# workflows skip such steps under act (`!env.ACT`). actions/checkout needs
# none: act copies the working tree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=airgap/env.sh
. "$root/airgap/env.sh"
LOG_TAG=act
# shellcheck source=airgap/lib.sh
. "$root/airgap/lib.sh"

ACT_VERSION="${ACT_VERSION:-v0.2.89}"
ACT_VERSION="v${ACT_VERSION#v}"
if [ -z "${NEOSALE_ACTIONS_MIRROR+x}" ] && [ -d "$root/../shared/actions" ]; then
  NEOSALE_ACTIONS_MIRROR="$(cd "$root/../shared/actions" && pwd)"
fi
actions_dir="$NEOSALE_CACHE/act/actions"

# Locked packages the npm registry no longer serves, moved to the next patch
# release: upload-artifact v7.0.0 locks @actions/artifact 6.2.0 (gone); its
# v7.0.1, which the workflows pin, is v7.0.0 with dependency updates.
npm_pins() {
  case "$1" in
    upload-artifact) echo "@actions/artifact@6.2.1" ;;
  esac
}

# Every `uses: OWNER/REPO[/PATH]@REF` of the workflows, as OWNER/REPO@REF.
workflow_actions() {
  sed -nE 's/^[[:space:]-]*uses:[[:space:]]*([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)(\/[^@[:space:]]*)?@([^[:space:]#]+).*/\1@\3/p' \
    "$root"/.github/workflows/*.yml | sort -u
}

# The bundle a JavaScript action runs (runs.main), relative to its folder.
action_main() {
  sed -nE "s/^[[:space:]]+main:[[:space:]]*['\"]?([^'\"[:space:]]+).*/\1/p" "$1/action.yml" | head -n 1
}

# Rebuild a JavaScript action's missing bundle in $1 with npm (the action's
# own lock and release script); node_modules goes afterwards: the bundle is
# self-contained.
npm_build() {
  local dir="$1" name="$2" pins
  pins="$(npm_pins "$name")"
  log "building $name's bundle with npm (node $(node --version))${pins:+, $pins}"
  if [ -n "$pins" ]; then
    # shellcheck disable=SC2086 # one or more package specs
    (cd "$dir" && npm install --no-audit --no-fund $pins >&2)
  else
    (cd "$dir" && npm ci --no-audit --no-fund >&2)
  fi
  (cd "$dir" && npm run release >&2) || die "npm could not build $name's bundle in $dir"
  rm -rf "$dir/node_modules"
}

# Unpack one tarball (once per digest and toolchain); print its folder.
unpack_action() {
  local tarball="$1" name="$2" key dest main lock
  key="$(sha256sum "$tarball" | cut -c1-16)"
  command -v node >/dev/null && key="$key-node$(node --version)-npm$(npm --version)"
  dest="$actions_dir/$(basename "$tarball" .tar.gz)-$key"
  if [ ! -f "$dest/.ready" ]; then
    mkdir -p "$actions_dir"
    exec {lock}>"$dest.lock"
    flock "$lock"
    if [ ! -f "$dest/.ready" ]; then
      rm -rf "$dest"
      mkdir -p "$dest"
      tar -xzf "$tarball" -C "$dest" --strip-components=1
      main="$(action_main "$dest")"
      if [ -n "$main" ] && [ ! -f "$dest/$main" ]; then
        [ -f "$dest/package.json" ] || die "$tarball: $main is missing and there is no package.json to build it"
        npm_build "$dest" "$name"
        [ -f "$dest/$main" ] || die "$tarball: npm built no $main"
      fi
      touch "$dest/.ready"
    fi
    exec {lock}>&-
  fi
  printf '%s\n' "$dest"
}

# A stand-in for an action with no copy in the mirror: act must read its
# action.yml (it prepares every step, skipped or not); running it fails.
standin_action() {
  local repo="$1" dest="$actions_dir/standin-${1//\//-}" sub
  for sub in $(sed -nE "s/^[[:space:]-]*uses:[[:space:]]*${repo//\//\\/}\/([^@[:space:]]+)@.*/\1/p" \
    "$root"/.github/workflows/*.yml | sort -u) .; do
    mkdir -p "$dest/$sub"
    cat >"$dest/$sub/action.yml" <<EOF
name: stand-in for $repo
description: not in the actions mirror; steps using it run only on GitHub
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "::error::$repo is not in the actions mirror and runs only on GitHub; skip this step under act" && exit 1
EOF
  done
  printf '%s\n' "$dest"
}

# --local-repository arguments for every action the workflows use.
local_repositories() {
  local uses repo name tarballs dir
  [ -n "${NEOSALE_ACTIONS_MIRROR:-}" ] || die "no actions mirror: set NEOSALE_ACTIONS_MIRROR to a folder of REPO-*.tar.gz"
  [ -d "$NEOSALE_ACTIONS_MIRROR" ] || die "NEOSALE_ACTIONS_MIRROR=$NEOSALE_ACTIONS_MIRROR is not a folder (expected REPO-*.tar.gz files)"
  for uses in $(workflow_actions); do
    repo="${uses%@*}"
    name="${repo#*/}"
    [ "$repo" = actions/checkout ] && continue
    mapfile -t tarballs < <(find "$NEOSALE_ACTIONS_MIRROR" -maxdepth 1 -name "$name-*.tar.gz" | sort)
    case "${#tarballs[@]}" in
      0) log "$uses: not in $NEOSALE_ACTIONS_MIRROR, a stand-in that fails if run"
         dir="$(standin_action "$repo")" ;;
      1) dir="$(unpack_action "${tarballs[0]}" "$name")" ;;
      *) die "$NEOSALE_ACTIONS_MIRROR has more than one $name-*.tar.gz: ${tarballs[*]}" ;;
    esac
    printf '%s=%s\n' "$uses" "$dir"
  done
}

# act's artifact server (v0.2.89) rejects upload-artifact v7: its requests
# carry a new field, mime_type, and its signed URLs lose their base64 padding
# (nektos/act issues 6022 and 6114). The upstream fix, not released yet,
# relaxes both parsers; the build applies it and fails if the code moved.
artifact_server_fix() {
  local f=pkg/artifacts/artifacts_v4.go
  if ! grep -q 'protojson.Unmarshal(body, req)' "$f" || ! grep -q 'base64.URLEncoding.DecodeString(sig)' "$f"; then
    log "error: $f no longer has the code the fix edits"
    return 1
  fi
  sed -i -e 's/protojson.Unmarshal(body, req)/protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)/' \
    -e 's/base64.URLEncoding.DecodeString(sig)/base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))/' "$f"
}

act_bin="$(go_tool_build act "github.com/nektos/act@$ACT_VERSION" artifact_server_fix)"
case "${1:-}" in
  --build-only) printf '%s\n' "$act_bin"; exit 0 ;;
  --actions) local_repositories; exit 0 ;;
esac

args=()
while IFS= read -r mapping; do args+=(--local-repository "$mapping"); done < <(local_repositories)
# Every label the workflows run on, on this machine; no Docker, no cache
# server (nothing listens beyond what the caller asks for).
exec "$act_bin" "${args[@]}" --action-offline-mode --no-cache-server \
  --container-daemon-socket - \
  -P ubuntu-latest=-self-hosted -P ubuntu-24.04=-self-hosted "$@"
