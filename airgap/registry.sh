#!/usr/bin/env bash
# Lifecycle of the local image registry: start | stop | status | logs.
#
# Debian's docker-registry (the CNCF distribution registry v2) serves the
# air-gapped image set on $NEOSALE_REGISTRY_ADDR over plain HTTP; the engine
# config written by engine.sh allows plain HTTP for that address. Blobs live
# in $NEOSALE_REGISTRY_DIR, config/pid/log in $NEOSALE_REGISTRY_RUN.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=airgap/env.sh
. "$here/env.sh"

addr="$NEOSALE_REGISTRY_ADDR"
host="${addr%:*}"
port="${addr##*:}"
run_dir="$NEOSALE_REGISTRY_RUN"
config="$run_dir/config.yml"
pidfile="$run_dir/registry.pid"
logfile="$run_dir/registry.log"
START_TIMEOUT="${NEOSALE_REGISTRY_START_TIMEOUT:-30}"

LOG_TAG=registry
# shellcheck source=airgap/lib.sh
. "$here/lib.sh"

[[ "$addr" =~ ^[^:]+:[0-9]+$ ]] || die "NEOSALE_REGISTRY_ADDR=$addr is not HOST:PORT"

# True when something accepts TCP connections on the address.
port_open() {
  python3 - "$host" "$port" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

# True when a registry v2 API answers GET /v2/ (200, or 401 behind auth).
api_ok() {
  python3 - "http://$addr/v2/" <<'PY'
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
try:
    code = opener.open(sys.argv[1], timeout=2).status
except urllib.error.HTTPError as e:
    code = e.code
except OSError:
    sys.exit(1)
sys.exit(0 if code in (200, 401) else 1)
PY
}

who_listens() { ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n 1 || true; }

write_config() {
  mkdir -p "$run_dir" "$NEOSALE_REGISTRY_DIR"
  cat >"$config" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $NEOSALE_REGISTRY_DIR
  # Lets tests and 'garbage-collect' remove manifests they own.
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
}

cmd_start() {
  if pid_alive; then
    if api_ok; then
      log "already running: pid $(cat "$pidfile"), http://$addr"
      return 0
    fi
    die "pid $(cat "$pidfile") from $pidfile is alive but http://$addr/v2/ does not answer; see $logfile or run '$0 stop'"
  fi
  if port_open; then
    die "port $port on $host is already in use by another process $(who_listens); stop it or set NEOSALE_REGISTRY_ADDR to a free HOST:PORT"
  fi
  if ! command -v docker-registry >/dev/null; then
    log "installing Debian's docker-registry"
    [ "$(id -u)" = 0 ] || die "docker-registry is missing and installing it needs root (apt-get install docker-registry)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  fi
  # Debian's package starts its own registry on :5000 through systemd where
  # systemd runs; that is the port-in-use case above, reported, not fought.
  write_config
  rm -f "$pidfile"
  log "starting docker-registry on http://$addr (storage $NEOSALE_REGISTRY_DIR, log $logfile)"
  setsid docker-registry serve "$config" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_ready api_ok "docker-registry on http://$addr"
  log "up: pid $(cat "$pidfile"), http://$addr"
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  stop_pid 10
}

cmd_status() {
  if pid_alive && api_ok; then
    echo "up addr=$addr pid=$(cat "$pidfile") storage=$NEOSALE_REGISTRY_DIR"
  else
    echo "down addr=$addr"
    return 3
  fi
}

lifecycle_main "$@"
