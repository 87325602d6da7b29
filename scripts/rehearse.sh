#!/usr/bin/env bash
# A rehearsal of a workflow with a real GitHub Actions runner (nektos/act, see
# scripts/act.sh) on this machine: the way to try a workflow change before
# pushing it.
#
#   scripts/rehearse.sh WORKFLOW [EVENT [INPUT=VALUE...]] [-- ACT_ARGS...]
#   scripts/rehearse.sh ci                      ci.yml on a push to main
#   scripts/rehearse.sh delivery push -- -j build
#   scripts/rehearse.sh rollback workflow_dispatch environment=production
#
# Every job runs on this machine (not in a container) with the official
# `dagger` CLI of the project's version first on PATH (dagger-for-github then
# skips its download) and the engine environment of airgap/env.sh, which act
# hands to every step. The checkout is the working tree as it is (uncommitted
# changes included) at HEAD's commit, with the generated .env (the stand-in
# images) that act would leave out as git-ignored. The event is EVENT
# (default push) on refs/heads/main. Uploaded artifacts go to act's artifact
# server on 127.0.0.1 only and are unpacked afterwards.
#
# Output, in $NEOSALE_REHEARSAL_OUT (default reports/rehearsal/WORKFLOW):
#   act.jsonl        act's own log (JSON lines, debug level)
#   rehearsal.json   the outcome: act's exit code, each job's and step's
#                    result, the steps skipped under act and why
#   artifacts/NAME/  each uploaded artifact, unpacked
# Steps the workflows skip under act (`!env.ACT`: only GitHub has them) are
# listed at the end. Exit code: act's.
#
# Secrets and variables for act: files named by NEOSALE_REHEARSAL_SECRETS and
# NEOSALE_REHEARSAL_VARS (KEY=VALUE lines; never printed). Files under
# NEOSALE_REHEARSAL_OVERLAY are copied over the checkout (the rehearsal's own
# target files); NEOSALE_REHEARSAL_ACTOR is github.actor; NEOSALE_REHEARSAL_COMMIT=MESSAGE
# pushes one more commit of that tree (a later release). For delivery.yml and
# rollback.yml, scripts/rehearsal-world.sh provides all four.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=rehearse
# shellcheck source=airgap/lib.sh
. "$root/airgap/lib.sh"

usage() { echo "usage: $0 WORKFLOW [EVENT [INPUT=VALUE...]] [-- ACT_ARGS...]  (WORKFLOW: ci, delivery, rollback or a file under .github/workflows)" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
name="${1%.yml}"
name="${name##*/}"
workflow="$root/.github/workflows/$name.yml"
[ -f "$workflow" ] || die "no workflow $1: expected one of $(cd "$root/.github/workflows" && echo *.yml)"
shift
event=push
if [ "$#" -gt 0 ] && [ "$1" != -- ]; then event="$1"; shift; fi
# A workflow_dispatch's inputs go into the event, where act reads them.
inputs='{}'
while [ "$#" -gt 0 ] && [[ "$1" =~ ^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$ ]]; do
  inputs="$(jq -c --arg k "${BASH_REMATCH[1]}" --arg v "${BASH_REMATCH[2]}" '. + {($k): $v}' <<<"$inputs")"
  shift
done
[ "$#" -eq 0 ] || { [ "$1" = -- ] && shift; } || usage
[[ "$event" =~ ^[a-z_]+$ ]] || die "event '$event' is not an event name (push, workflow_dispatch, ...)"

# The engine, the registry with the stand-in images, the .env (as for
# scripts/pipeline.sh, after its scripts/setup.sh).
[ -x "$root/.venv/bin/python" ] || die "no .venv in $root: run scripts/setup.sh first"
bash "$root/scripts/airgap-up.sh"
# shellcheck source=airgap/env.sh
. "$root/airgap/env.sh"
act_sh="$root/scripts/act.sh"
bash "$act_sh" --actions >/dev/null

out="${NEOSALE_REHEARSAL_OUT:-$root/reports/rehearsal/$name}"
mkdir -p "$out"
# Only what an earlier rehearsal wrote there goes: the folder may hold more.
rm -rf "${out:?}"/{act.jsonl,event.json,rehearsal.json,artifacts,artifact-server,failed-job-reports}
mkdir -p "$out/artifacts"
out="$(cd "$out" && pwd)"
# The checkout act copies from, and act's own folder (each job's workspace).
mkdir -p "$NEOSALE_CACHE/act"
tmp="$(mktemp -d "$NEOSALE_CACHE/act/rehearsal.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
checkout="$tmp/checkout"

# The checkout: HEAD's commit with the working tree over it, plus the .env
# (act copies it whole into the job's workspace: --use-gitignore=false).
stage_checkout() {
  local sha="$1"
  git clone -q --shared --no-checkout "$root" "$checkout"
  git -C "$checkout" checkout -q --detach "$sha"
  (cd "$root" && git ls-files -z -c -o --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) \
    | tar -C "$checkout" -xf -
  (cd "$root" && git ls-files -z -d) | (cd "$checkout" && xargs -0r rm -f --)
  cp "$root/.env" "$checkout/.env"
  if [ -n "${NEOSALE_REHEARSAL_OVERLAY:-}" ]; then
    [ -d "$NEOSALE_REHEARSAL_OVERLAY" ] || die "NEOSALE_REHEARSAL_OVERLAY=$NEOSALE_REHEARSAL_OVERLAY is not a folder"
    cp -r "$NEOSALE_REHEARSAL_OVERLAY/." "$checkout/"
  fi
}


sha="$(git -C "$root" rev-parse HEAD)"
stage_checkout "$sha"
# A new commit over it: the next release of the same tree (a push of a later commit).
if [ -n "${NEOSALE_REHEARSAL_COMMIT:-}" ]; then
  git -C "$checkout" add -A
  git -C "$checkout" -c user.name=rehearsal -c user.email=rehearsal@localhost \
    commit -q --allow-empty -m "$NEOSALE_REHEARSAL_COMMIT"
  sha="$(git -C "$checkout" rev-parse HEAD)"
fi
jq -n --arg sha "$sha" --argjson inputs "$inputs" '{ref: "refs/heads/main", before: ("0" * 40), after: $sha,
  deleted: false, inputs: $inputs,
  repository: {default_branch: "main", full_name: "neosale/neosale", owner: {login: "neosale"}}}' >"$out/event.json"

files=()
[ -z "${NEOSALE_REHEARSAL_SECRETS:-}" ] || files+=(--secret-file "$NEOSALE_REHEARSAL_SECRETS")
[ -z "${NEOSALE_REHEARSAL_VARS:-}" ] || files+=(--var-file "$NEOSALE_REHEARSAL_VARS")
port="$(free_port)"
log "rehearsing $name.yml on $event (sha $sha), artifact server 127.0.0.1:$port, output $out"

# act's JSON log to a file; its info lines (the steps' output) to the terminal.
set +e
PATH="$NEOSALE_PREFIX/bin:$PATH" bash "$act_sh" "$event" \
  -C "$checkout" -W "$checkout/.github/workflows/$name.yml" --eventpath "$out/event.json" \
  --env GITHUB_REPOSITORY=neosale/neosale --env-file /dev/null "${files[@]}" \
  --actor "${NEOSALE_REHEARSAL_ACTOR:-neosale-bot}" \
  --action-cache-path "$tmp/runner" --use-gitignore=false \
  --artifact-server-addr 127.0.0.1 --artifact-server-port "$port" \
  --artifact-server-path "$out/artifact-server" \
  --json -v "$@" 2>&1 \
  | tee "$out/act.jsonl" \
  | jq -Rr --unbuffered 'fromjson? // {msg: ., level: "info"}
      | select(.level != "debug") | "[\(.job // "act")] \(.msg | rtrimstr("\n"))"'
code="${PIPESTATUS[0]}"
set -e

# Each uploaded artifact, unpacked (act's server keeps one zip per artifact).
# (A workflow that uploads nothing leaves no folder.)
[ ! -d "$out/artifact-server" ] || find "$out/artifact-server" -name '*.zip' | while read -r zip; do
  dir="$out/artifacts/$(basename "$(dirname "$zip")")"
  mkdir -p "$dir" && python3 -m zipfile -e "$zip" "$dir"
done

# act keeps a failed job's workspace: its reports, if any, for a look.
for reports in "$tmp"/runner/*/hostexecutor/reports; do
  if [ -d "$reports" ]; then
    mkdir -p "$out/failed-job-reports"
    cp -r "$reports" "$out/failed-job-reports/$(basename "$(dirname "$(dirname "$reports")")")"
  fi
done

jq -Rn --argjson code "$code" --arg workflow "$name.yml" --arg event "$event" '
  [inputs | fromjson? // empty] as $log
  | [$log[] | select(.stepResult != null and .stage == "Main" and (.stepID | length) == 1)] as $steps
  | {workflow: $workflow, event: $event, exit_code: $code,
     jobs: ([$log[] | select(.jobResult != null) | {key: .jobID, value: .jobResult}] | from_entries),
     steps: [$steps[] | {job: .jobID, step: .step, result: .stepResult}],
     skipped_under_act: [$steps[] | select(.stepResult == "skipped" and (.msg | test("env\\.ACT")))
       | {job: .jobID, step: .step, condition: (.msg | capture("due to (?<c>.*)$").c)}]}' \
  "$out/act.jsonl" >"$out/rehearsal.json"

log "jobs: $(jq -r '.jobs | to_entries | map("\(.key)=\(.value)") | join(", ")' "$out/rehearsal.json")"
jq -r '.skipped_under_act[] | "skipped under act (GitHub only): [\(.job)] \(.step)"' "$out/rehearsal.json" >&2
log "act exited $code; outcome in $out/rehearsal.json"
exit "$code"
