#!/usr/bin/env bash
# Lifecycle of Debian's Docker daemon for image builds and container tests:
#   scripts/dockerd.sh start | stop | status | logs [N]
# `start` is idempotent: it returns at once when `docker info` already answers
# (whoever started that daemon), otherwise starts dockerd in the background and
# waits until it answers. Pid file and log live under
# ${NEOSALE_CACHE:-$HOME/.cache/neosale-ci}/dockerd; `stop` only stops a daemon
# this script started. Docker already treats 127.0.0.0/8 as an insecure
# (plain HTTP) registry, so the local registry on 127.0.0.1:5000 needs no flag;
# more can be added with NEOSALE_DOCKERD_ARGS="--insecure-registry host:port".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=airgap/env.sh
. "$root/airgap/env.sh"

run_dir="$NEOSALE_CACHE/dockerd"
pidfile="$run_dir/dockerd.pid"
logfile="$run_dir/dockerd.log"
DOCKERD="${DOCKERD:-/usr/sbin/dockerd}"
# Debian's client (20.10): it drives BuildKit itself, no buildx plugin needed.
DOCKER="${DOCKER:-/usr/bin/docker}"
SOCKET="${NEOSALE_DOCKER_SOCKET:-/var/run/docker.sock}"
START_TIMEOUT="${NEOSALE_DOCKERD_START_TIMEOUT:-60}"
export DOCKER_HOST="unix://$SOCKET"

LOG_TAG=dockerd
# shellcheck source=airgap/lib.sh
. "$root/airgap/lib.sh"

answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

cmd_start() {
  if answers; then
    log "already answering on $DOCKER_HOST"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "dockerd must run as root"
  [ -x "$DOCKERD" ] || die "$DOCKERD is missing (apt-get install docker.io)"
  [ -x "$DOCKER" ] || die "$DOCKER is missing (apt-get install docker.io)"
  mkdir -p "$run_dir"
  if pid_alive; then
    log "pid $(cat "$pidfile") is starting; waiting for it"
  else
    rm -f "$pidfile"
    # A socket nobody answers on is left over from a crash and blocks the bind.
    if [ -S "$SOCKET" ]; then log "removing stale socket $SOCKET"; rm -f "$SOCKET"; fi
    log "starting $DOCKERD (log $logfile)"
    # setsid: the daemon outlives this shell and its terminal.
    # shellcheck disable=SC2086
    setsid "$DOCKERD" \
      --host "unix://$SOCKET" \
      --pidfile "$run_dir/dockerd.internal.pid" \
      ${NEOSALE_DOCKERD_ARGS:-} \
      >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  wait_ready answers dockerd
  log "up: pid $(cat "$pidfile"), $DOCKER_HOST"
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$pidfile"
    if answers; then log "a daemon not started by this script answers on $DOCKER_HOST; leaving it"; else log "not running"; fi
    return 0
  fi
  # dockerd stops its containers first (10 s each by default), so allow time.
  stop_pid 60
}

cmd_status() {
  if answers; then
    local v; v="$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)"
    if pid_alive; then echo "up version=$v pid=$(cat "$pidfile") host=$DOCKER_HOST"; else echo "up version=$v pid=external host=$DOCKER_HOST"; fi
  else
    echo "down"
    return 3
  fi
}

lifecycle_main "$@"
