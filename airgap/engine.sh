#!/usr/bin/env bash
# Lifecycle of the local Dagger engine: start | stop | status | logs.
#
# The engine runs on the host as root inside a private mount namespace
# (unshare -m): there it sees our binaries at the fixed paths it expects
# (/usr/local/bin/runc, /usr/local/bin/dagger-init) and our engine.json at
# /etc/dagger, and its bind mount over /etc/resolv.conf stays private, while
# nothing on the host is replaced. It shares the host network, so it reaches
# the local registry on 127.0.0.1 and the package registries directly.
# With the builtin SDK content built (airgap/sdk-content.sh), its blobs are
# bound at the engine's content path and their digests are in its
# environment: module mode (`dagger call`) works; a `start` after the
# content changed restarts the engine to take it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=airgap/env.sh
. "$here/env.sh"

bin="$NEOSALE_PREFIX/current/bin"
cni="$NEOSALE_PREFIX/current/cni"
run_dir="$NEOSALE_ENGINE_RUN"
sock="$run_dir/engine.sock"
pidfile="$run_dir/engine.pid"
logfile="$run_dir/engine.log"
conf_dir="$run_dir/etc-dagger"
content_env="$NEOSALE_SDK_CONTENT/engine.env"
running_content="$run_dir/content.env"  # what the running engine was started with
# After an unclean stop (a killed engine, a machine restarted under it) the
# engine wipes its whole cache before it answers: minutes for a warm cache.
START_TIMEOUT="${NEOSALE_ENGINE_START_TIMEOUT:-900}"
# A TERMed engine persists its cache index before it exits; a KILL before
# that costs the next start the whole cache.
STOP_GRACE="${NEOSALE_ENGINE_STOP_GRACE:-120}"

LOG_TAG=engine
# shellcheck source=airgap/lib.sh
. "$here/lib.sh"

# A session opens: the proof that the engine really serves.
engine_answers() { [ -S "$sock" ] && timeout 60 "$bin/dagger" --progress plain run true >/dev/null 2>&1; }

content_changed() { ! cmp -s "$running_content" "${content_env}" 2>/dev/null && [ -f "$content_env" ]; }

engine_version() { "$bin/dagger-engine" --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -n 1 || echo unknown; }

# engine.json: the local registry speaks plain HTTP on loopback; optional
# mirrors, e.g. NEOSALE_ENGINE_MIRRORS="docker.io=127.0.0.1:5000 ghcr.io=mirror.corp:5000".
write_config() {
  mkdir -p "$conf_dir"
  python3 - "$conf_dir/engine.json" <<'PY'
import json, os, sys
regs = {os.environ["NEOSALE_REGISTRY_ADDR"]: {"http": True}}
for item in os.environ.get("NEOSALE_ENGINE_MIRRORS", "").split():
    host, sep, mirror = item.partition("=")
    if not sep or not host or not mirror:
        sys.exit(f"NEOSALE_ENGINE_MIRRORS: bad entry {item!r}, expected REGISTRY=MIRROR (e.g. docker.io=127.0.0.1:5000)")
    regs.setdefault(host, {}).setdefault("mirrors", []).append(mirror)
# The default GC keeps little (about 2 GB here), so warm runs redo npm ci and
# image builds; CI machines keep their cache, so let it use real space.
gc = {
    "reservedSpace": os.environ.get("NEOSALE_ENGINE_GC_RESERVED", "10GB"),
    "maxUsedSpace": os.environ.get("NEOSALE_ENGINE_GC_MAX", "40GB"),
    "minFreeSpace": os.environ.get("NEOSALE_ENGINE_GC_MIN_FREE", "10%"),
}
with open(sys.argv[1], "w") as f:
    json.dump({"registries": regs, "gc": gc}, f, indent=2)
PY
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "the engine must run as root (it manages containers and networks)"
  for b in dagger-engine dagger-init runc dial-stdio; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing; run airgap/install-dagger.sh first"
  done
  command -v unshare >/dev/null || die "unshare (util-linux) is missing"
  mkdir -p "$run_dir"
  # One start at a time: a second caller waits, then finds the engine up.
  exec 8>"$run_dir/start.lock"
  flock 8
  if pid_alive && content_changed; then
    log "the builtin SDK content changed: restarting to take it"
    cmd_stop
  fi
  if pid_alive; then
    log "already running: pid $(cat "$pidfile"), $_EXPERIMENTAL_DAGGER_RUNNER_HOST"
    return 0
  fi
  mkdir -p "$NEOSALE_ENGINE_STATE" /etc/dagger
  if [ -S "$sock" ]; then
    if python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null; then
      die "socket $sock is answering but no engine of ours owns it (pid file missing); stop that process or set NEOSALE_ENGINE_RUN to another folder"
    fi
    log "removing stale socket $sock"; rm -f "$sock"
  fi
  rm -f "$pidfile"
  write_config
  local content=/dev/null
  rm -f "$running_content"
  if [ -f "$content_env" ]; then
    content="$NEOSALE_SDK_CONTENT"
    cp "$content_env" "$running_content"
    set -a; . "$running_content"; set +a
  else
    log "no builtin SDK content yet: client mode only; \`dagger call\` needs airgap/sdk-content.sh"
  fi
  log "starting engine $(engine_version) (state $NEOSALE_ENGINE_STATE, log $logfile)"
  # setsid: the engine outlives this shell and its terminal.
  # The engine points /usr/bin/iptables* at /usr/bin/xtables-*-multi (its
  # image's layout; Debian keeps them in /usr/sbin): an overlay on /usr/bin,
  # private to the namespace, takes those writes and leaves the host alone.
  local upper="$run_dir/usr-bin.upper" work="$run_dir/usr-bin.work"
  rm -rf "$upper" "$work"; mkdir -p "$upper" "$work"
  for x in xtables-legacy-multi xtables-nft-multi; do
    [ -x "/usr/sbin/$x" ] && ln -s "/usr/sbin/$x" "$upper/$x"
  done
  setsid unshare -m --propagation private -- /bin/sh -c '
    set -e
    mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$3,workdir=$4" /usr/bin
    mount --bind "$1" /usr/local/bin
    mount --bind "$2" /etc/dagger
    if [ "$5" != /dev/null ]; then
      mkdir -p /usr/local/share/dagger/content
      mount --bind "$5" /usr/local/share/dagger/content
    fi
    shift 5
    exec "$@"' sh "$bin" "$conf_dir" "$upper" "$work" "$content" \
    "$bin/dagger-engine" \
      --addr "unix://$sock" \
      --root "$NEOSALE_ENGINE_STATE" \
      --oci-worker-binary /usr/local/bin/runc \
      --oci-cni-binary-dir "$cni" \
      ${NEOSALE_ENGINE_ARGS:-} \
    >"$logfile" 2>&1 </dev/null 8>&- &
  echo $! > "$pidfile"

  wait_ready engine_answers "the engine"
  log "up: pid $(cat "$pidfile"), $_EXPERIMENTAL_DAGGER_RUNNER_HOST"
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$pidfile" "$sock"
    log "not running"
    return 0
  fi
  stop_pid "$STOP_GRACE"
  rm -f "$sock"
}

cmd_status() {
  if pid_alive && [ -S "$sock" ]; then
    echo "up version=$(engine_version) pid=$(cat "$pidfile") host=$_EXPERIMENTAL_DAGGER_RUNNER_HOST"
  else
    echo "down"
    return 3
  fi
}

lifecycle_main "$@"
